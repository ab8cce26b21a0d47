// The distributed deployment's seams, opened from the shared options (cluster_options.h):
// PostgreSQL store, RabbitMQ broker, Redis (quota ledger and event bus). Each opener logs where
// it connected (never a password) and fails with a message that says what to fix.
//
// Also: the admin key of a cluster (admin.key from a Secret, or one created on first start),
// and the loop every distributed process ends in (serve /healthz, /readyz, /metrics and the
// role's routes until SIGTERM).
//
// Thread-safety: called on the main thread at start-up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "app/cluster_options.h"
#include "app/command.h"
#include "app/http_options.h"
#include "common/status.h"
#include "http/router.h"
#include "queue/rabbitmq/rabbitmq_broker.h"
#include "redis/redis_client.h"
#include "store/postgres/postgres_options.h"
#include "store/postgres/postgres_store.h"

namespace inferline::app {

store::PostgresOptions PostgresOptionsFrom(const ClusterOptionValues& v);
[[nodiscard]] Result<std::unique_ptr<store::PostgresStore>> OpenPostgres(
    const ClusterOptionValues& v);
// Declares the request queue of every model in `models` and inference_results.
[[nodiscard]] Result<std::shared_ptr<queue::RabbitMqBroker>> OpenRabbitMq(
    const ClusterOptionValues& v, std::vector<std::string> models);
[[nodiscard]] Result<std::shared_ptr<redis::RedisClient>> OpenRedis(const ClusterOptionValues& v);

// With admin.key: makes sure a key with that secret exists for the admin user. Without: on the
// first start creates the admin user and a key written to `key_file` (0600). Safe when several
// gateways start at once.
[[nodiscard]] Status EnsureClusterAdminKey(store::Store& store, const std::string& secret,
                                           const std::string& key_file);

// Backend checks for /readyz, run every `interval` on a thread of their own, so that a probe
// never waits on the network. Thread-safety: Add before Start; Failing from any thread.
class HealthMonitor {
 public:
  explicit HealthMonitor(std::chrono::milliseconds interval = std::chrono::seconds(2))
      : interval_(interval) {}
  ~HealthMonitor();
  void Add(std::string name, std::function<bool()> check);
  void Start();  // runs every check once before returning
  std::vector<std::string> Failing() const;

 private:
  struct Check {
    std::string name;
    std::function<bool()> fn;
    std::atomic<bool> ok{false};
  };
  void RunChecks();
  std::chrono::milliseconds interval_;
  std::vector<std::unique_ptr<Check>> checks_;
  std::mutex mu_;  // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// What every distributed subcommand reads: logging, its HTTP port, and the shared options.
struct ClusterCommandOptions {
  LogOptions log;
  HttpConfig http;  // migrate declares it too, so that one file configures every process
  ClusterOptionValues cluster;
};

// Registers a distributed subcommand: declares the options above (HTTP port `default_port`)
// and runs `run` with them once the configuration is resolved.
void AddClusterCommand(CLI::App& app, Commands& commands, const std::string& name,
                       const std::string& help, int64_t default_port,
                       std::function<int(const ClusterCommandOptions&)> run);

// The readiness checks every long-running distributed process has: Redis and PostgreSQL.
void AddBackendChecks(HealthMonitor& health, std::shared_ptr<redis::RedisClient> redis,
                      store::PostgresStore* store);

// Serves `router` plus /healthz, /readyz (ready while `readiness` returns nothing) and
// /metrics until SIGTERM or SIGINT, then stops the server (grace) and calls `stop`. Returns the
// exit code.
int ServeUntilSignal(const HttpConfig& http, http::Router router, const std::string& role,
                     std::function<std::vector<std::string>()> readiness,
                     const std::function<void()>& stop);

}  // namespace inferline::app
