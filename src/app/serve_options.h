// The options of `inferline serve` (and the subset `inferline keys` shares with it), declared
// once so that flags, INFERLINE_* variables and the YAML file all come from one place.
//
//   model.path, model.name               the model folder (default: the shipped kjv-small) and
//                                        the name clients use (default: the folder's name)
//   data.dir                             SQLite database and admin key (default ./data)
//   admin.key_file                       where the first start writes the admin key
//   engine.threads, engine.max_slots     compute threads; sequences generated at once
//   engine.backend                       batching (continuous batching) | generator
//   worker.enabled                       false: queue requests without running them
//   defaults.max_tokens, defaults.timeout_seconds
//   quota.plans, quota.default_plan      plans (name -> limits) and the plan of new users
//   limits.unauthenticated_rate/_burst   per-IP token bucket for traffic without a valid key
//   limits.key_rate/_burst               per-key token bucket (0: off)
//   http.cors_origins                    allowed browser origins (none by default)
//   sse.keepalive_seconds, sse.idle_timeout_seconds
//   auth.cache_ttl_ms                    how long key lookups are cached (revocation delay)
//   gateway.blocking_threads             threads for store / ledger / broker calls
//
// Thread-safety: used on the main thread before any work starts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/platform.h"
#include "common/config.h"

namespace inferline::app {

struct ServeOptionValues {
  std::string model_path;
  std::string model_name;
  std::string data_dir;
  std::string admin_key_file;
  int64_t engine_threads = 0;
  int64_t max_slots = 4;
  std::string backend;
  bool worker_enabled = true;
  int64_t default_max_tokens = 256;
  int64_t default_timeout_seconds = 600;
  std::string default_plan;
  double unauthenticated_rate = 5;
  double unauthenticated_burst = 60;
  double key_rate = 0;
  double key_burst = 0;
  std::vector<std::string> cors_origins;
  double sse_keepalive_seconds = 15;
  double sse_idle_timeout_seconds = 300;
  int64_t auth_cache_ttl_ms = 1000;
  int64_t blocking_threads = 16;
  // Filled by the quota.plans option as the configuration is resolved.
  std::shared_ptr<gateway::PlanCatalog> plans = std::make_shared<gateway::PlanCatalog>();

  PlatformConfig ToPlatformConfig() const;
};

// data.dir and quota.plans / quota.default_plan: what `inferline keys` needs too.
void DeclareDataOptions(config::Config& cfg, ServeOptionValues& v);
// quota.plans / quota.default_plan alone (the distributed subcommands have no data.dir).
void DeclarePlanOptions(config::Config& cfg, ServeOptionValues& v);
// Everything else `serve` takes (call DeclareDataOptions as well).
void DeclareServeOptions(config::Config& cfg, ServeOptionValues& v);

}  // namespace inferline::app
