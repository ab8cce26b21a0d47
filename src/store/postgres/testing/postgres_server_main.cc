// inferline_postgres_server: starts a private PostgreSQL server (testing/postgres_server.h) for
// shell scripts and ctest fixtures shared by several tests, prints its URL, and runs until
// SIGTERM or SIGINT, then stops the server and removes its folder.
//
//   inferline_postgres_server [--fsync] [--set NAME=VALUE]... [--database NAME] [--no-migrate]
//                             [--url-file PATH]
//
// The URL (postgresql://postgres@127.0.0.1:PORT/NAME, database migrated unless --no-migrate)
// goes to stdout and, with --url-file, into PATH once the server is ready, so a FIXTURES_SETUP
// script can start this in the background, wait for the file, and a FIXTURES_CLEANUP script can
// kill it. If this process dies, the kernel kills the server too.
#include <fmt/format.h>
#include <signal.h>

#include <cstring>
#include <fstream>
#include <string>

#include "store/postgres/postgres_migrations.h"
#include "store/postgres/testing/postgres_server.h"

using namespace inferline;

int main(int argc, char** argv) {
  store::testing::PostgresServerOptions options;
  std::string database = "inferline", url_file;
  bool migrate = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--fsync") {
      options.fsync = true;
    } else if (a == "--set" && i + 1 < argc) {
      options.settings.push_back(argv[++i]);  // e.g. shared_preload_libraries=pg_stat_statements
    } else if (a == "--no-migrate") {
      migrate = false;
    } else if (a == "--database" && i + 1 < argc) {
      database = argv[++i];
    } else if (a == "--url-file" && i + 1 < argc) {
      url_file = argv[++i];
    } else {
      fmt::print(stderr, "usage: {} [--fsync] [--set NAME=VALUE]... [--database NAME] [--no-migrate] "
                 "[--url-file PATH]\n", argv[0]);
      return 2;
    }
  }
  // Block the stop signals before any thread exists, then wait for them synchronously.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto server = store::testing::PostgresServer::Start(options);
  if (!server.ok()) {
    fmt::print(stderr, "error: {}\n", server.status().ToString());
    return 1;
  }
  auto url = (*server)->CreateDatabase(database);
  if (!url.ok()) {
    fmt::print(stderr, "error: {}\n", url.status().ToString());
    return 1;
  }
  if (migrate) {
    store::PostgresOptions o;
    o.url = *url;
    if (auto v = store::RunPostgresMigrations(o); !v.ok()) {
      fmt::print(stderr, "error: {}\n", v.status().ToString());
      return 1;
    }
  }
  if (!url_file.empty()) {
    std::string tmp = url_file + ".tmp";
    std::ofstream(tmp) << *url << "\n";
    if (std::rename(tmp.c_str(), url_file.c_str()) != 0) {
      fmt::print(stderr, "error: cannot write {}: {}\n", url_file, std::strerror(errno));
      return 1;
    }
  }
  fmt::print("{}\n", *url);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;  // ~PostgresServer stops the server and removes its folder
}
