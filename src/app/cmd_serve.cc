// `inferline serve`: the whole platform in one process (EmbeddedPlatform behind the HTTP server).
//
// Start-up: load the model, open the data directory, recover, start collector and worker, then
// listen. SIGTERM / SIGINT: stop accepting and give in-flight requests the HTTP grace period,
// then stop the gateway, the worker (it finishes or gives back what runs), the collector, and
// close the store; exit 0. A second signal during shutdown kills the process at once, which is
// safe: startup recovery completes whatever was cut.
#include <memory>

#include "app/command.h"
#include "app/http_options.h"
#include "app/platform.h"
#include "app/serve_options.h"
#include "app/signals.h"
#include "common/metrics.h"
#include "http/http_server.h"
#include "http/router.h"

namespace inferline::app {
namespace {

struct ServeOptions {
  LogOptions log;
  HttpConfig http;
  ServeOptionValues serve;
};

int RunServe(const ServeOptions& opts) {
  PrepareServerProcess();
  PlatformConfig config = opts.serve.ToPlatformConfig();
  if (!config.plans.Has(config.gateway.default_plan)) {
    log::Error("quota.default_plan '{}' is not a configured plan", config.gateway.default_plan);
    return 2;
  }
  Result<std::unique_ptr<EmbeddedPlatform>> platform = EmbeddedPlatform::Open(std::move(config));
  if (!platform.ok()) {
    log::Error("cannot start: {}", platform.status().ToString());
    return 1;
  }
  EmbeddedPlatform& p = **platform;
  if (Status st = p.Start(); !st.ok()) {
    log::Error("cannot start the worker or collector: {}", st.ToString());
    return 1;
  }
  http::Router router;
  p.AddRoutes(router);
  http::HttpServer server(opts.http.ToOptions(), std::move(router), metrics::Registry::Default());
  if (Status st = server.Start(); !st.ok()) {
    log::Error("cannot start the HTTP server: {}", st.message());
    p.Stop();
    return 1;
  }
  log::Info("inferline serve listening on {}:{} (model {}, data {})", opts.http.host,
            server.port(), p.model_name(), p.data_dir().string());
  int sig = WaitForTerminationSignal();
  log::Info("received signal {}, shutting down (grace {} ms)", sig, opts.http.shutdown_grace_ms);
  UnblockTerminationSignals();
  server.Shutdown();
  server.Wait();
  p.Stop();
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
  DeclareDataOptions(*cfg, opts->serve);
  DeclareServeOptions(*cfg, opts->serve);
  cfg->Bind(*sub);
  commands.Add(sub, [opts, cfg] {
    return RunWithConfig(*cfg, &opts->log, [&] { return RunServe(*opts); });
  });
}

}  // namespace inferline::app
