// EmbeddedPlatform: the whole platform in one process, as `inferline serve` runs it.
//
// Open() builds it in dependency order: the data directory's SQLite database, the store, the
// durable broker, the quota ledger (all three sharing the database) and the in-process event
// bus; the model and its tokenizer (loaded once, shared by the gateway for exact prompt token
// counts and by the worker's backend); startup recovery (leases released, results drained,
// reservations reconciled); and the admin key on the first start. Start() starts the collector
// and the worker. AddRoutes() registers the gateway's API and /healthz, /readyz, /metrics.
//
// Shutdown, in the order that loses nothing (the caller stops the HTTP server first, so no new
// request is accepted and in-flight sync requests got their grace):
//   Stop(): gateway (its blocking pool) -> worker (finishes or gives back what runs) ->
//   collector -> broker; the destructor then closes the database last.
//
// Thread-safety: Open/Start/AddRoutes/Stop from the main thread; Readiness from any thread.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "common/status.h"
#include "events/local/local_event_bus.h"
#include "gateway/gateway.h"
#include "gateway/model_catalog.h"
#include "gateway/plans.h"
#include "http/router.h"
#include "queue/sqlite/sqlite_broker.h"
#include "quota/local/local_quota_ledger.h"
#include "store/sqlite/sqlite_store.h"
#include "worker/model_backend.h"
#include "worker/worker.h"

namespace inferline::app {

struct PlatformConfig {
  std::string model_path;  // empty: the shipped model (DefaultModelPath)
  std::string model_name;  // empty: the model folder's name
  std::string data_dir;    // empty: ResolveDataDir's default
  std::string admin_key_file;  // empty: <data_dir>/admin.key
  int engine_threads = 0;      // 0: all hardware threads
  int max_slots = 4;           // sequences generated at once
  // "batching": the continuous-batching engine; "generator": one Generator per slot.
  std::string backend = "batching";
  // false: accept and queue requests without running them (admission benchmarks, maintenance).
  bool worker_enabled = true;
  gateway::GatewayOptions gateway;
  gateway::PlanCatalog plans;
};

class EmbeddedPlatform {
 public:
  [[nodiscard]] static Result<std::unique_ptr<EmbeddedPlatform>> Open(PlatformConfig config);
  ~EmbeddedPlatform();
  EmbeddedPlatform(const EmbeddedPlatform&) = delete;
  EmbeddedPlatform& operator=(const EmbeddedPlatform&) = delete;

  [[nodiscard]] Status Start();
  void AddRoutes(http::Router& router);
  void Stop();

  // Failing readiness checks (empty: ready). Never blocks.
  std::vector<std::string> Readiness() const;

  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::string& model_name() const { return models_.Default()->name; }

 private:
  explicit EmbeddedPlatform(PlatformConfig config) : config_(std::move(config)) {}
  Status OpenSeams();
  Status LoadModel();
  Status Recover();

  PlatformConfig config_;
  std::filesystem::path data_dir_;
  // Declared in dependency order: destroyed in reverse, the database last.
  std::shared_ptr<store::SqliteDatabase> db_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<queue::SqliteBroker> broker_;
  std::unique_ptr<quota::LocalQuotaLedger> ledger_;
  std::unique_ptr<events::LocalEventBus> bus_;
  gateway::ModelCatalog models_;
  std::shared_ptr<worker::ModelBackend> backend_;
  std::unique_ptr<collector::Collector> collector_;
  std::unique_ptr<worker::Worker> worker_;
  std::unique_ptr<gateway::Gateway> gateway_;
  std::atomic<bool> model_ready_{false};
  std::atomic<bool> store_open_{false};
  bool stopped_ = false;
};

}  // namespace inferline::app
