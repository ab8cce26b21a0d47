#include "app/platform.h"

#include <chrono>

#include "app/data_dir.h"
#include "app/model_path.h"
#include "collector/recovery.h"
#include "common/log.h"
#include "engine/io/model_config.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "http/standard_routes.h"
#include "engine/engine.h"
#include "worker/engine_backend.h"
#include "worker/generator_backend.h"

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
  fs::path dir = config_.model_path.empty() ? fs::path(DefaultModelPath())
                                            : fs::path(config_.model_path);
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<engine::Model>> model =
      engine::Model::Load(dir, {.num_threads = config_.engine_threads});
  if (!model.ok()) return model.status().Annotate("loading the model from " + dir.string());
  Result<std::unique_ptr<engine::Tokenizer>> tok = engine::Tokenizer::Load(dir);
  if (!tok.ok()) return tok.status().Annotate("loading the tokenizer from " + dir.string());
  std::shared_ptr<const engine::Model> shared_model = std::move(*model);
  std::shared_ptr<const engine::Tokenizer> shared_tok = std::move(*tok);

  gateway::ServedModel served;
  fs::path canonical = fs::weakly_canonical(dir);
  served.name = config_.model_name.empty() ? canonical.filename().string() : config_.model_name;
  served.tokenizer = shared_tok;
  served.context_length = shared_model->config().max_positions;
  served.created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (served.context_length <= 0) return InvalidArgument("the model has no context length");
  RETURN_IF_ERROR(queue::ValidateQueueName(queue::RequestQueueName(served.name)));
  log::Info("model {} loaded from {} in {:.0f} ms (context {} tokens)", served.name,
            canonical.string(),
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count(),
            served.context_length);
  models_.Add(std::move(served));

  const int slots = config_.max_slots > 0 ? config_.max_slots : 1;
  if (config_.backend == "generator") {
    worker::GeneratorBackendOptions bo;
    bo.slots = slots;
    backend_ = std::make_shared<worker::GeneratorBackend>(shared_model, shared_tok, bo);
  } else {
    engine::EngineOptions eo;
    eo.max_slots = slots;
    Result<std::unique_ptr<engine::Engine>> eng =
        engine::Engine::Create(shared_model, shared_tok, eo);
    if (!eng.ok()) return eng.status().Annotate("starting the engine");
    backend_ = std::make_shared<worker::EngineBackend>(
        std::shared_ptr<engine::Engine>(std::move(*eng)), shared_tok);
  }
  log::Info("backend: {} with {} slots", config_.backend, slots);
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
  deps.models = &models_;
  deps.plans = &config_.plans;
  gateway_ = std::make_unique<gateway::Gateway>(deps, config_.gateway);
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
  if (worker_) worker_->Stop();
  if (backend_) backend_->Shutdown();
  if (collector_) collector_->Stop();
  if (broker_) broker_->Shutdown();
  store_open_ = false;
}

EmbeddedPlatform::~EmbeddedPlatform() { Stop(); }

}  // namespace inferline::app
