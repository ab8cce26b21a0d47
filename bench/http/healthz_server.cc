// bench_http_server: the HTTP server with only the standard routes, for bench/http/run.sh.
//
//   bench_http_server [--port N] [--threads N] [--access-log]
//
// Prints "listening on <port>" once ready and runs until SIGINT or SIGTERM, then shuts down
// gracefully and exits 0.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/metrics.h"
#include "http/http_server.h"
#include "http/standard_routes.h"

using namespace inferline;

int main(int argc, char** argv) {
  http::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.access_log = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      options.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      options.io_threads = std::atoi(argv[++i]);
    } else if (arg == "--access-log") {
      options.access_log = true;
    } else {
      std::fprintf(stderr, "usage: %s [--port N] [--threads N] [--access-log]\n", argv[0]);
      return 2;
    }
  }

  // Block the signals before any thread starts so that only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::Router router;
  http::AddStandardRoutes(router, nullptr, metrics::Registry::Default());
  http::HttpServer server(options, std::move(router));
  Status status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("listening on %u\n", server.port());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  server.Shutdown();
  server.Wait();
  return 0;
}
