#include "app/serve_options.h"

#include <cstdio>
#include <cstdlib>

namespace inferline::app {

void DeclareDataOptions(config::Config& cfg, ServeOptionValues& v) {
  cfg.String("data.dir", &v.data_dir, "",
             "Data directory: the SQLite database and the admin key (default ./data, or "
             "~/.local/share/inferline when the working directory is not writable)",
             "--data-dir");
  DeclarePlanOptions(cfg, v);
}

void DeclarePlanOptions(config::Config& cfg, ServeOptionValues& v) {
  cfg.String("quota.default_plan", &v.default_plan, "default",
             "Plan of users created without one");
  std::shared_ptr<gateway::PlanCatalog> plans = v.plans;
  Status st = cfg.Yaml(
      "quota.plans", "{}",
      "Plans: a mapping of plan name to limits (requests_per_minute, tokens_per_minute, "
      "requests_per_day, tokens_per_day, requests_per_month, tokens_per_month, max_concurrent; "
      "absent = unlimited). Built in: default (100 requests and 100000 tokens a day), unlimited",
      [plans](const YAML::Node& node, const std::string& where) {
        return plans->ApplyYaml(node, where);
      });
  if (!st.ok()) {
    // The default is a constant "{}": failing to apply it is a bug.
    std::fprintf(stderr, "inferline: bad built-in quota.plans default: %s\n", st.message().c_str());
    std::abort();
  }
}

void DeclareServeOptions(config::Config& cfg, ServeOptionValues& v) {
  cfg.String("model.path", &v.model_path, "",
             "Model folder (config.json, model.safetensors, tokenizer.json); default: the "
             "shipped models/kjv-small",
             "--model");
  cfg.String("model.name", &v.model_name, "", "Model name clients use (default: folder name)");
  cfg.String("admin.key_file", &v.admin_key_file, "",
             "Where the first start writes the admin API key (default <data.dir>/admin.key)");
  cfg.Int("engine.threads", &v.engine_threads, 0, 0, 1024,
          "Compute threads for the model; 0 = all hardware threads");
  cfg.Int("engine.max_slots", &v.max_slots, 4, 1, 256, "Sequences generated at once");
  cfg.Choice("engine.backend", &v.backend, "batching", {"batching", "generator"},
             "batching: one continuous-batching scheduler runs every sequence through each "
             "model step; generator: one sequence per slot thread (a fallback)");
  cfg.Bool("worker.enabled", &v.worker_enabled, true,
           "Run requests in this process; false only accepts and queues them (benchmarks, "
           "maintenance)");
  cfg.Int("defaults.max_tokens", &v.default_max_tokens, 256, 1, 1 << 20,
          "max_tokens of a request that gives none (capped by the context left)");
  cfg.Int("defaults.timeout_seconds", &v.default_timeout_seconds, 600, 1, 7 * 86400,
          "Deadline of a request that gives no timeout_seconds");
  cfg.Double("limits.unauthenticated_rate", &v.unauthenticated_rate, 5, 0, 1e9,
             "Requests per second per client IP without a valid API key (0 = no limit)");
  cfg.Double("limits.unauthenticated_burst", &v.unauthenticated_burst, 60, 1, 1e9,
             "Burst of requests per client IP without a valid API key");
  cfg.Double("limits.key_rate", &v.key_rate, 0, 0, 1e9,
             "Requests per second per API key (0 = no limit; quotas come from the plans)");
  cfg.Double("limits.key_burst", &v.key_burst, 0, 0, 1e9, "Burst of requests per API key");
  cfg.List("http.cors_origins", &v.cors_origins, {},
           "Browser origins allowed by CORS (exact, e.g. https://app.example; * = any)");
  cfg.Double("sse.keepalive_seconds", &v.sse_keepalive_seconds, 15, 0.05, 3600,
             "Keep-alive comment interval on event streams");
  cfg.Double("sse.idle_timeout_seconds", &v.sse_idle_timeout_seconds, 300, 0.1, 86400,
             "An event stream with no event for this long is closed");
  cfg.Int("auth.cache_ttl_ms", &v.auth_cache_ttl_ms, 1000, 0, 3'600'000,
          "How long API key lookups are cached (a revocation elsewhere applies after this)");
  // The default is the value v holds when declared: 16 for serve, 64 for the cluster commands.
  cfg.Int("gateway.blocking_threads", &v.blocking_threads, v.blocking_threads, 1, 1024,
          "Threads for blocking store, ledger and broker calls");
}

PlatformConfig ServeOptionValues::ToPlatformConfig() const {
  PlatformConfig c;
  c.model_path = model_path;
  c.model_name = model_name;
  c.data_dir = data_dir;
  c.admin_key_file = admin_key_file;
  c.engine_threads = static_cast<int>(engine_threads);
  c.max_slots = static_cast<int>(max_slots);
  c.backend = backend;
  c.worker_enabled = worker_enabled;
  c.plans = *plans;
  gateway::GatewayOptions& g = c.gateway;
  g.admission.default_max_tokens = static_cast<int>(default_max_tokens);
  g.admission.default_timeout = std::chrono::seconds(default_timeout_seconds);
  g.default_plan = default_plan;
  g.unauthenticated_rate = unauthenticated_rate;
  g.unauthenticated_burst = unauthenticated_burst;
  g.key_rate = key_rate;
  g.key_burst = key_burst;
  g.cors_origins = cors_origins;
  g.sse_keepalive = std::chrono::milliseconds(static_cast<int64_t>(sse_keepalive_seconds * 1000));
  g.sse_idle_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(sse_idle_timeout_seconds * 1000));
  g.auth.cache_ttl = std::chrono::milliseconds(auth_cache_ttl_ms);
  g.blocking_threads = static_cast<int>(blocking_threads);
  return c;
}

}  // namespace inferline::app
