#include "app/platform.h"

#include <chrono>

#include "app/data_dir.h"
#include "app/local_model.h"
#include "collector/recovery.h"
#include "common/log.h"
#include "http/standard_routes.h"

namespace inferline::app {
namespace fs = std::filesystem;

Result<std::unique_ptr<EmbeddedPlatform>> EmbeddedPlatform::Open(PlatformConfig config) {
  std::unique_ptr<EmbeddedPlatform> p(new EmbeddedPlatform(std::move(config)));
  RETURN_IF_ERROR(p->OpenSeams());
  RETURN_IF_ERROR(p->LoadModel());
  RETURN_IF_ERROR(p->Recover());
  fs::path key_file = p->config_.admin_key_file.empty() ? p->data_dir_ / "admin.key"
                                                        : fs::path(p->config_.admin_key_file);
  Result<bool> admin = EnsureAdminKey(*p->store_, key_file);
  if (!admin.ok()) return admin.status().Annotate("creating the admin key");
  return p;
}

Status EmbeddedPlatform::OpenSeams() {
  data_dir_ = ResolveDataDir(config_.data_dir);
  ASSIGN_OR_RETURN(db_, OpenDataDir(data_dir_));
  store_ = std::make_unique<store::SqliteStore>(db_);
  broker_ = std::make_unique<queue::SqliteBroker>(db_);
  ASSIGN_OR_RETURN(ledger_, quota::LocalQuotaLedger::Open(db_, quota::Clock::now()));
  bus_ = std::make_unique<events::LocalEventBus>();
  store_open_ = true;
  log::Info("data directory {} (database {}, schema version {})", data_dir_.string(), db_->path(),
            db_->schema_version());
  return Status::Ok();
}

Status EmbeddedPlatform::LoadModel() {
  ASSIGN_OR_RETURN(LocalModel model, LoadLocalModel(config_.model_path, config_.model_name,
                                                    config_.engine_threads,
                                                    /*with_weights=*/true));
  ASSIGN_OR_RETURN(backend_, MakeLocalBackend(model, config_.backend, config_.max_slots));
  models_.Add(std::move(model.served));
  model_ready_ = true;
  return Status::Ok();
}

Status EmbeddedPlatform::Recover() {
  collector_ = std::make_unique<collector::Collector>(*broker_, *store_, *ledger_, *bus_);
  Result<collector::RecoveryReport> r =
      collector::RecoverEmbedded(*broker_, *store_, *ledger_, *collector_, quota::Clock::now());
  if (!r.ok()) return r.status().Annotate("startup recovery");
  log::Info(
      "startup recovery: {} results collected; reservations: {} refunded (never recorded), {} "
      "settled (finished), {} open; {} requests queued and {} running to resume",
      r->results_collected, r->quota.refunded_unrecorded, r->quota.settled_finished,
      r->quota.left_open, r->queued, r->running);
  return Status::Ok();
}

Status EmbeddedPlatform::Start() {
  RETURN_IF_ERROR(collector_->Start());
  if (config_.worker_enabled) {
    worker::WorkerOptions wo;
    wo.model = models_.Default()->name;
    wo.max_in_flight = std::max(4, config_.max_slots * 4);
    // One process: the worker hands its results to the collector directly (the results queue
    // stays for what cannot be recorded at once, and is still consumed).
    wo.record_result = [c = collector_.get()](const protocol::ResultMessage& r) {
      return c->Record(r);
    };
    worker_ = std::make_unique<worker::Worker>(*broker_, *store_, *bus_, backend_, wo);
    RETURN_IF_ERROR(worker_->Start());
  } else {
    log::Warn("worker.enabled is false: requests are accepted and queued but not run");
  }

  gateway::GatewayDeps deps;
  deps.store = store_.get();
  deps.ledger = ledger_.get();
  deps.broker = broker_.get();
  deps.bus = bus_.get();
  if (worker_) {
    deps.start_in_process = [w = worker_.get()](const protocol::RequestMessage& m) {
      return w->TryStartInProcess(m);
    };
    deps.in_process_submitted = [w = worker_.get()](std::string_view id) {
      w->InProcessSubmitted(id);
    };
  }
  deps.models = &models_;
  deps.plans = &config_.plans;
  // The local ledger and bus never block, and SqliteStore records without blocking: admission
  // runs on the HTTP I/O threads.
  gateway::GatewayOptions gateway_options = config_.gateway;
  gateway_options.admission.in_process_seams = true;
  gateway_ = std::make_unique<gateway::Gateway>(deps, gateway_options);
  return Status::Ok();
}

void EmbeddedPlatform::AddRoutes(http::Router& router) {
  gateway_->AddRoutes(router);
  http::AddStandardRoutes(router, [this] { return Readiness(); }, metrics::Registry::Default());
}

std::vector<std::string> EmbeddedPlatform::Readiness() const {
  std::vector<std::string> failing;
  if (!model_ready_) failing.push_back("model");
  if (!store_open_) failing.push_back("store");
  return failing;
}

void EmbeddedPlatform::Stop() {
  if (stopped_) return;
  stopped_ = true;
  model_ready_ = false;
  if (gateway_) gateway_->Stop();
  // Admissions await their commit on the writer (Store::CreateRequestAsync) and resume on the
  // HTTP event loops. Let every queued write commit and call back now, so that no callback
  // outlives the server's io_contexts (the caller stops the server before this, and destroys
  // it before the platform); a request cut off this way is durable or not, as its commit says.
  // Its reservation, if the commit failed, is refunded by the next start's reconciliation.
  if (db_) (void)db_->Write([](store::WriteTx&) { return Status::Ok(); });
  if (worker_) worker_->Stop();
  if (backend_) backend_->Shutdown();
  if (collector_) collector_->Stop();
  if (broker_) broker_->Shutdown();
  store_open_ = false;
}

EmbeddedPlatform::~EmbeddedPlatform() { Stop(); }

}  // namespace inferline::app
