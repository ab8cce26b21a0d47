// Cluster: a whole distributed deployment for end-to-end tests, every part a real process on
// loopback: a private PostgreSQL and Redis (started here), RabbitMQ (the ctest run's shared node
// through INFERLINE_RABBITMQ_STATE, or a private node for tests that restart it), then
// `inferline migrate`, gateways, workers and a collector (each `inferline <role>` with --port 0).
//
// Every process gets the same configuration (the URLs, one admin key, a RabbitMQ queue prefix
// unique to this cluster so that suites can share the node, the shipped kjv-small model with
// engine.threads=1). Processes can be killed and started again by index, which the fault tests
// do. The test also reaches the backends directly: SQL on the database, Redis commands, and a
// RabbitMQ broker client with the cluster's prefix.
//
// Start servers from the main thread (SetUpTestSuite): PostgreSQL dies with the thread that
// started it (postgres_server.h).
//
// Thread-safety: Start/Stop/Kill of processes from the test's thread; Sql, Redis and the
// accessors from any thread once started.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "queue/rabbitmq/rabbitmq_broker.h"
#include "queue/rabbitmq/testing/rabbitmq_server.h"
#include "redis/redis_client.h"
#include "redis/testing/redis_server.h"
#include "server_process.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/testing/postgres_server.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::distributed {

struct ClusterOptions {
  std::string name = "dist";  // log folder and RabbitMQ queue prefix ("<name><pid>.")
  int gateways = 1;
  int workers = 2;
  int collectors = 1;
  // A private RabbitMQ node (for tests that stop it) instead of the suite's shared one.
  bool own_rabbitmq = false;
  // Appended to every process's flags (e.g. "--engine-max-slots", "4").
  std::vector<std::string> extra_args;
  std::vector<std::string> worker_args;
};

enum class Role { kGateway, kWorker, kCollector };
std::string_view RoleName(Role role);

class Cluster {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Cluster>> Start(ClusterOptions options);
  ~Cluster();  // stops every process (SIGTERM), then the servers it started
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& admin_key() const { return admin_key_; }
  const std::string& model() const { return model_; }
  uint16_t gateway_port(int i = 0) const;
  // The process of `role` number i; null when it is not running (killed and not restarted).
  e2e::ServerProcess* process(Role role, int i);
  int count(Role role) const;

  // Starts one more process of `role` (a second gateway replica, say); returns its index.
  [[nodiscard]] Result<int> Add(Role role);
  // Starts process i again after a Kill or Stop (a fresh process; the old log is kept).
  [[nodiscard]] Status Restart(Role role, int i);
  void Kill(Role role, int i);                          // SIGKILL
  [[nodiscard]] std::optional<int> Stop(Role role, int i);  // SIGTERM; the exit status
  // The "<host>-<pid>" a worker records on the requests it runs.
  std::string WorkerId(int i);

  // The backends, for checks the API does not offer.
  [[nodiscard]] Result<store::PgResult> Sql(std::string_view sql);
  [[nodiscard]] Result<redis::Reply> Redis(const std::vector<std::string>& args);
  // An integer key; 0 when absent.
  [[nodiscard]] Result<int64_t> RedisInt(const std::string& key);
  // A broker client with the cluster's queue prefix (publish garbage, read queue stats).
  [[nodiscard]] Result<std::shared_ptr<queue::RabbitMqBroker>> Broker();
  queue::testing::RabbitMqServer& rabbitmq() { return *rabbitmq_; }
  // Outage tests stop and start these (PostgresServer::Stop/Resume keeps the data; a Redis
  // restart comes back empty).
  store::testing::PostgresServer& postgres() { return *postgres_; }
  redis::testing::RedisServer& redis_server() { return *redis_; }
  const std::string& postgres_url() const { return postgres_url_; }
  std::string redis_url() const { return redis_->url(); }

  // The last lines of every process's log, for assertion messages.
  std::string Logs(size_t lines_each = 30) const;

 private:
  explicit Cluster(ClusterOptions options) : options_(std::move(options)) {}
  struct Slot {
    Role role;
    int index;
    int starts = 0;
    std::unique_ptr<e2e::ServerProcess> process;
  };
  std::vector<std::string> CommonArgs() const;
  Status Launch(Slot& slot);
  Slot* Find(Role role, int i);
  const Slot* Find(Role role, int i) const;

  ClusterOptions options_;
  std::unique_ptr<store::testing::TempDir> dir_;
  std::unique_ptr<store::testing::PostgresServer> postgres_;
  std::unique_ptr<redis::testing::RedisServer> redis_;
  std::unique_ptr<queue::testing::RabbitMqServer> rabbitmq_;
  std::string postgres_url_;
  std::string queue_prefix_;
  std::string admin_key_;
  std::string model_ = "kjv-small";
  std::vector<Slot> slots_;
  std::shared_ptr<redis::RedisClient> redis_client_;
  std::mutex sql_mu_;  // guards sql_
  std::unique_ptr<store::PgConnection> sql_;
};

}  // namespace inferline::distributed
