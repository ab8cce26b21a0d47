// `inferline gateway`: the HTTP API of the distributed deployment. Stateless; run as many
// replicas as traffic needs, behind one Service.
//
// It loads only the model's tokenizer and config (prompts are counted exactly; the weights
// live in the workers), opens PostgreSQL (request records, keys, usage), RabbitMQ (queue depth
// and the outbox relay's publishes) and Redis (quota ledger and event bus), and relays the
// outbox: a request is accepted when its record and outbox row commit together, and the relay
// publishes it to RabbitMQ with publisher confirms (store/postgres/outbox_relay.h). Every replica
// runs a relay; SKIP LOCKED keeps them apart.
//
// /readyz fails while PostgreSQL, Redis or the event listener is unreachable, so that a
// Service sends traffic elsewhere. SIGTERM: stop accepting, finish in-flight requests within
// the grace period, stop the relay, exit 0.
#include <memory>

#include "app/cluster_options.h"
#include "app/cluster_seams.h"
#include "app/command.h"
#include "app/http_options.h"
#include "app/local_model.h"
#include "app/signals.h"
#include "common/log.h"
#include "events/redis/redis_event_bus.h"
#include "gateway/gateway.h"
#include "quota/redis/redis_quota_ledger.h"
#include "store/postgres/outbox_relay.h"

namespace inferline::app {
namespace {

int RunGateway(const ClusterCommandOptions& opts) {
  PrepareServerProcess();
  const ClusterOptionValues& c = opts.cluster;
  PlatformConfig pc = c.serve.ToPlatformConfig();
  if (!pc.plans.Has(pc.gateway.default_plan)) {
    log::Error("quota.default_plan '{}' is not a configured plan", pc.gateway.default_plan);
    return 2;
  }
  Result<LocalModel> model = LoadLocalModel(c.serve.model_path, c.serve.model_name, 1,
                                            /*with_weights=*/false);
  if (!model.ok()) {
    log::Error("cannot start: {}", model.status().ToString());
    return 1;
  }
  gateway::ModelCatalog models;
  models.Add(model->served);

  // Declared before the store, so that it outlives the store's writes (which wake it).
  std::unique_ptr<store::OutboxRelay> relay;
  auto store = OpenPostgres(c);
  if (!store.ok()) {
    log::Error("cannot start: {}", store.status().ToString());
    return 1;
  }
  auto broker = OpenRabbitMq(c, {models.Default()->name});
  if (!broker.ok()) {
    log::Error("cannot start: {}", broker.status().ToString());
    return 1;
  }
  auto redis = OpenRedis(c);
  if (!redis.ok() && !c.quota_fail_open) {
    log::Error("cannot start: {}", redis.status().ToString());
    return 1;
  }
  if (!redis.ok()) {
    log::Warn("starting without Redis (quota.fail_open): {}", redis.status().ToString());
    redis = redis::RedisClient::Open(c.redis_url.empty() ? "redis://127.0.0.1:6379" : c.redis_url);
    if (!redis.ok()) {
      log::Error("cannot start: {}", redis.status().ToString());
      return 1;
    }
  }
  quota::RedisQuotaLedger ledger(*redis);
  events::RedisEventBus bus(*redis);
  if (Status st = EnsureClusterAdminKey(**store, c.admin_key, c.serve.admin_key_file); !st.ok()) {
    log::Error("cannot start: the admin key: {}", st.ToString());
    return 1;
  }
  relay = std::make_unique<store::OutboxRelay>(PostgresOptionsFrom(c), **broker);
  if (Status st = relay->Start(); !st.ok()) {
    log::Error("cannot start the outbox relay: {}", st.ToString());
    return 1;
  }
  (*store)->SetOutboxCommitted(
      [r = relay.get()](store::PostgresStore::CommittedOutbox row) { r->Offer(std::move(row)); });

  pc.gateway.max_queue_depth = c.rabbitmq_max_length;
  pc.gateway.backlog_from_store = true;
  pc.gateway.admission.quota_fail_open = c.quota_fail_open;
  gateway::GatewayDeps deps;
  deps.store = store->get();
  deps.ledger = &ledger;
  deps.broker = broker->get();
  deps.bus = &bus;
  deps.models = &models;
  deps.plans = &pc.plans;
  gateway::Gateway gw(deps, pc.gateway);

  http::Router router;
  gw.AddRoutes(router);
  std::shared_ptr<redis::RedisClient> redis_client = *redis;
  HealthMonitor health;
  health.Add("event listener", [&bus] { return bus.listening(); });
  AddBackendChecks(health, redis_client, store->get());
  health.Start();
  return ServeUntilSignal(opts.http, std::move(router), "gateway",
                          [&health] { return health.Failing(); }, [&] {
    gw.Stop();
    // Redis calls and record writes still in flight (admissions cut off by the grace period)
    // finish while the gateway and the HTTP server their callbacks use still exist; the
    // coroutines they would resume no longer run, so a reservation made then is left to the
    // reconciliation of reservations without a record (as a crash would leave it).
    redis_client->DrainAsync();
    (*store)->FlushWrites();
    redis_client->DrainAsync();
    relay->Stop();
    (*broker)->Shutdown();
  });
}

}  // namespace

void AddGatewayCommand(CLI::App& app, Commands& commands) {
  AddClusterCommand(app, commands, "gateway",
                    "Run the HTTP gateway of the distributed deployment (PostgreSQL, RabbitMQ, Redis)", 8080, RunGateway);
}

}  // namespace inferline::app
