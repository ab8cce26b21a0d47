// `inferline serve`: the whole platform in one process.
#include <memory>

#include "app/command.h"
#include "app/http_options.h"
#include "app/signals.h"
#include "common/metrics.h"
#include "http/router.h"
#include "http/standard_routes.h"

namespace inferline::app {
namespace {

struct ServeOptions {
  LogOptions log;
  HttpConfig http;
};

int RunServe(const ServeOptions& opts) {
  BlockTerminationSignals();
  auto& registry = metrics::Registry::Default();
  http::Router router;
  http::AddStandardRoutes(router, nullptr, registry);
  http::HttpServer server(opts.http.ToOptions(), std::move(router), registry);
  if (Status st = server.Start(); !st.ok()) {
    log::Error("cannot start the HTTP server: {}", st.message());
    return 1;
  }
  log::Info("inferline serve listening on {}:{}", opts.http.host, server.port());
  int sig = WaitForTerminationSignal();
  log::Info("received signal {}, shutting down (grace {} ms)", sig, opts.http.shutdown_grace_ms);
  UnblockTerminationSignals();
  server.Shutdown();
  server.Wait();
  log::Info("stopped");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, Commands& commands) {
  CLI::App* sub = app.add_subcommand("serve", "Run the whole platform in one process");
  auto opts = std::make_shared<ServeOptions>();
  auto cfg = std::make_shared<config::Config>();
  DeclareLogOptions(*cfg, opts->log);
  DeclareHttpOptions(*cfg, opts->http, 8080);
  cfg->Bind(*sub);
  commands.Add(sub, [opts, cfg] {
    return RunWithConfig(*cfg, &opts->log, [&] { return RunServe(*opts); });
  });
}

}  // namespace inferline::app
