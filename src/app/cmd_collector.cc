// `inferline collector`: turns results on inference_results into final request records in
// PostgreSQL, settles quota in Redis exactly once and publishes the terminal events
// (collector/collector.h; every step idempotent, the ack last, so a collector killed anywhere
// loses nothing and settles nothing twice). Scale it with KEDA on inference_results.
//
// Every minute it also reconciles the quota ledger with the store (quota/reconcile.h), for
// reservations older than a minute: a gateway that died between reserving and recording a
// request leaves a reservation no result will ever settle, which would hold the user's quota
// and a concurrency slot until the window ends. Every collector replica may do it; settling is
// idempotent.
#include <memory>

#include "app/cluster_options.h"
#include "app/cluster_seams.h"
#include "app/command.h"
#include "app/http_options.h"
#include "app/signals.h"
#include "collector/collector.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "events/redis/redis_event_bus.h"
#include "quota/reconcile.h"
#include "quota/redis/redis_quota_ledger.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace inferline::app {
namespace {

int RunCollector(const ClusterCommandOptions& opts) {
  PrepareServerProcess();
  const ClusterOptionValues& c = opts.cluster;
  auto store = OpenPostgres(c);
  if (!store.ok()) {
    log::Error("cannot start: {}", store.status().ToString());
    return 1;
  }
  auto broker = OpenRabbitMq(c, {});
  if (!broker.ok()) {
    log::Error("cannot start: {}", broker.status().ToString());
    return 1;
  }
  auto redis = OpenRedis(c);
  if (!redis.ok()) {
    log::Error("cannot start: {}", redis.status().ToString());
    return 1;
  }
  quota::RedisQuotaLedger ledger(*redis);
  events::RedisEventBus bus(*redis);
  collector::CollectorOptions co;
  co.threads = static_cast<int>(c.collector_threads);
  collector::Collector collector(**broker, **store, ledger, bus, co);
  if (Status st = collector.Start(); !st.ok()) {
    log::Error("cannot start the collector: {}", st.ToString());
    return 1;
  }
  std::mutex mu;  // guards stop
  std::condition_variable cv;
  bool stop = false;
  std::thread reconciler([&] {
    NameThisThread("quota-reconcile");
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::minutes(1), [&] { return stop; })) {
      lock.unlock();
      Result<quota::ReconcileReport> r = quota::ReconcileReservations(
          ledger, **store, quota::Clock::now(), std::chrono::minutes(1));
      if (!r.ok()) log::Warn("quota reconciliation failed: {}", r.status().ToString());
      lock.lock();
    }
  });
  std::shared_ptr<redis::RedisClient> redis_client = *redis;
  HealthMonitor health;
  AddBackendChecks(health, redis_client, store->get());
  health.Start();
  return ServeUntilSignal(opts.http, http::Router(), "collector",
                          [&health] { return health.Failing(); }, [&] {
                            {
                              std::lock_guard lock(mu);
                              stop = true;
                            }
                            cv.notify_all();
                            reconciler.join();
                            collector.Stop();
                            (*broker)->Shutdown();
                          });
}

}  // namespace

void AddCollectorCommand(CLI::App& app, Commands& commands) {
  AddClusterCommand(app, commands, "collector",
                    "Run the results collector of the distributed deployment", 9092, RunCollector);
}

}  // namespace inferline::app
