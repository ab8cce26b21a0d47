// `inferline worker`: runs requests of one model from RabbitMQ, on the built-in engine or on an
// OpenAI-compatible upstream server (worker.upstream.url), in the distributed deployment. Scale
// it with KEDA on the model's queue length and token backlog.
//
// The Worker (worker/worker.h) is the embedded one: it consumes as many requests as the
// backend has free slots (so that requests wait in the queue, where other workers can take
// them), marks them running in PostgreSQL, streams token events through Redis, publishes the
// result to inference_results and only then acks. A worker killed mid-generation loses its
// channel, and RabbitMQ redelivers its requests to another worker.
//
// SIGTERM: stop consuming, let running generations finish within worker stop grace, give the
// rest back to the queue, exit 0.
#include <memory>

#include "app/cluster_options.h"
#include "app/cluster_seams.h"
#include "app/command.h"
#include "app/http_options.h"
#include "app/local_model.h"
#include "app/signals.h"
#include "app/upstream_backend.h"
#include "common/log.h"
#include "events/redis/redis_event_bus.h"
#include "worker/worker.h"

namespace inferline::app {
namespace {

int RunWorker(const ClusterCommandOptions& opts) {
  PrepareServerProcess();
  const ClusterOptionValues& c = opts.cluster;
  const bool upstream = !c.upstream_url.empty();
  // With an upstream, only the tokenizer is needed (usage is counted by the upstream; the model
  // name and context come from the model folder the gateway uses too).
  Result<LocalModel> model = LoadLocalModel(c.serve.model_path, c.serve.model_name,
                                            static_cast<int>(c.serve.engine_threads),
                                            /*with_weights=*/!upstream);
  if (!model.ok()) {
    log::Error("cannot start: {}", model.status().ToString());
    return 1;
  }
  Result<std::shared_ptr<worker::ModelBackend>> backend =
      upstream ? MakeUpstreamBackend(c)
               : MakeLocalBackend(*model, c.serve.backend, static_cast<int>(c.serve.max_slots));
  if (!backend.ok()) {
    log::Error("cannot start the backend: {}", backend.status().ToString());
    return 1;
  }
  const std::string name = model->served.name;
  model->model.reset();  // the backend holds what it needs

  auto store = OpenPostgres(c);
  if (!store.ok()) {
    log::Error("cannot start: {}", store.status().ToString());
    return 1;
  }
  auto broker = OpenRabbitMq(c, {name});
  if (!broker.ok()) {
    log::Error("cannot start: {}", broker.status().ToString());
    return 1;
  }
  auto redis = OpenRedis(c);
  if (!redis.ok()) {
    log::Error("cannot start: {}", redis.status().ToString());
    return 1;
  }
  events::RedisEventBus bus(*redis);

  worker::WorkerOptions wo;
  wo.model = name;
  wo.max_in_flight = upstream ? static_cast<int>(c.upstream_max_concurrency)
                              : std::max<int>(4, static_cast<int>(c.serve.max_slots) * 2);
  worker::Worker w(**broker, **store, bus, *backend, wo);
  if (Status st = w.Start(); !st.ok()) {
    log::Error("cannot start the worker: {}", st.ToString());
    return 1;
  }
  log::Info("worker consuming {} ({})", queue::RequestQueueName(name),
            upstream ? "upstream " + c.upstream_url : "built-in engine");

  std::shared_ptr<redis::RedisClient> redis_client = *redis;
  HealthMonitor health;
  AddBackendChecks(health, redis_client, store->get());
  health.Start();
  return ServeUntilSignal(opts.http, http::Router(), "worker",
                          [&health] { return health.Failing(); }, [&] {
                            w.Stop();
                            (*backend)->Shutdown();
                            (*broker)->Shutdown();
                          });
}

}  // namespace

void AddWorkerCommand(CLI::App& app, Commands& commands) {
  AddClusterCommand(app, commands, "worker",
                    "Run a model worker of the distributed deployment (built-in engine or --upstream)", 9091, RunWorker);
}

}  // namespace inferline::app
