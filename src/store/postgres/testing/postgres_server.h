// Test helper: a private PostgreSQL server from Debian's binaries (postgresql 15), for the
// integration tests of store/postgres and for end-to-end tests of the distributed deployment.
//
// Start() runs initdb into a fresh temporary folder, starts `postgres` on a free loopback port
// with its socket in that folder (fsync off unless asked, for speed), and waits until it accepts
// sessions. As root, initdb and postgres run as the `postgres` user (they refuse root) with the
// folder owned by it. The server dies with the test: the child asks the kernel for SIGKILL when
// its parent dies (PR_SET_PDEATHSIG), so a crashed test leaves nothing running; the kernel means
// the parent *thread*, so start servers from a thread that outlives them (the main thread, or a
// test's own thread for servers that the test destroys). Destruction stops
// the server (SIGINT: fast shutdown, then SIGKILL after a timeout) and removes the folder.
//
// Thread-safety: not shared between threads without external locking; CreateDatabase and Url
// may be called from any thread once Start returned.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::store::testing {

struct PostgresServerOptions {
  bool fsync = false;  // true: the server's durable defaults (for benchmarks of commits)
  int max_connections = 300;
  std::vector<std::string> settings;  // extra `-c NAME=VALUE` server settings
  std::chrono::seconds start_timeout{60};
  // Where initdb and postgres live; the environment variable INFERLINE_POSTGRES_BIN overrides.
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
};

class PostgresServer {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PostgresServer>> Start(
      PostgresServerOptions options = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates an empty database and returns its URL. AlreadyExists when the name is taken.
  [[nodiscard]] Result<std::string> CreateDatabase(std::string_view name);
  // postgresql://postgres@127.0.0.1:<port>/<db> (trust authentication, no password).
  std::string Url(std::string_view db) const;
  int port() const { return port_; }

  // Stops the server but keeps its data and port; Resume starts it again (outage tests).
  [[nodiscard]] Status Stop();
  [[nodiscard]] Status Resume();
  bool running() const { return pid_ > 0; }

 private:
  PostgresServer(PostgresServerOptions options, std::string dir)
      : options_(std::move(options)), dir_(std::move(dir)) {}
  Status InitDb();
  Status Launch();
  Status WaitReady();

  PostgresServerOptions options_;
  std::string dir_;  // the temporary folder: data/, the socket, server.log
  int port_ = 0;
  pid_t pid_ = -1;
  std::mutex mu_;  // serializes CreateDatabase
};

}  // namespace inferline::store::testing
