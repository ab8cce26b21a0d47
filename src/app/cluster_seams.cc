#include "app/cluster_seams.h"

#include "app/data_dir.h"
#include "app/signals.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"
#include "gateway/api_keys.h"
#include "http/http_server.h"
#include "http/standard_routes.h"
#include "queue/message.h"

namespace inferline::app {

store::PostgresOptions PostgresOptionsFrom(const ClusterOptionValues& v) {
  store::PostgresOptions o;
  o.url = v.postgres_url.empty() ? "postgresql://127.0.0.1:5432/inferline" : v.postgres_url;
  o.pool_size = static_cast<int>(v.postgres_pool_size);
  o.writers = static_cast<int>(v.postgres_writers);
  return o;
}

Result<std::unique_ptr<store::PostgresStore>> OpenPostgres(const ClusterOptionValues& v) {
  Result<std::unique_ptr<store::PostgresStore>> s = store::PostgresStore::Open(PostgresOptionsFrom(v));
  if (!s.ok()) return s.status().Annotate("opening the PostgreSQL store (postgres.url)");
  log::Info("PostgreSQL store open");
  return s;
}

Result<std::shared_ptr<queue::RabbitMqBroker>> OpenRabbitMq(const ClusterOptionValues& v,
                                                            std::vector<std::string> models) {
  queue::RabbitMqOptions o;
  if (!v.rabbitmq_url.empty()) o.url = v.rabbitmq_url;
  o.max_deliveries = static_cast<int>(v.rabbitmq_max_deliveries);
  o.max_length = v.rabbitmq_max_length;
  o.queue_prefix = v.rabbitmq_queue_prefix;
  o.models = std::move(models);
  Result<std::shared_ptr<queue::RabbitMqBroker>> b = queue::RabbitMqBroker::Create(o);
  if (!b.ok()) return b.status().Annotate("connecting to RabbitMQ (rabbitmq.url)");
  Result<queue::AmqpUrl> url = queue::ParseAmqpUrl(o.url);
  log::Info("RabbitMQ broker connected ({})", url.ok() ? url->Redacted() : "?");
  return b;
}

Result<std::shared_ptr<redis::RedisClient>> OpenRedis(const ClusterOptionValues& v) {
  const std::string url = v.redis_url.empty() ? "redis://127.0.0.1:6379" : v.redis_url;
  Result<std::shared_ptr<redis::RedisClient>> c = redis::RedisClient::Open(url);
  if (!c.ok()) return c.status().Annotate("opening Redis (redis.url)");
  if (Status st = (*c)->Ping(); !st.ok()) {
    return st.Annotate("reaching Redis (redis.url)");
  }
  log::Info("Redis reachable");
  return c;
}

Status EnsureClusterAdminKey(store::Store& store, const std::string& secret,
                             const std::string& key_file) {
  if (secret.empty()) {
    Result<bool> created = EnsureAdminKey(store, key_file.empty() ? "admin.key" : key_file);
    // Another gateway starting at the same time created it first: fine.
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      return created.status();
    }
    return Status::Ok();
  }
  if (secret.rfind(gateway::kKeyPrefix, 0) != 0 || secret.size() < 20) {
    return InvalidArgument("admin.key must be an API key of the form sk-il-<at least 14 characters>",
                           "admin.key");
  }
  const std::string hash = gateway::HashSecret(secret);
  Result<store::ApiKey> found = store.FindApiKeyByHash(hash);
  if (found.ok()) {
    if (!found->is_admin || found->revoked_at) {
      return FailedPrecondition("admin.key belongs to a key that is revoked or not an admin key");
    }
    return Status::Ok();
  }
  if (found.status().code() != StatusCode::kNotFound) return found.status();
  const store::Time now = store::Clock::now();
  store::User user{.id = kAdminUser, .plan = "unlimited", .limits_json = "{}", .created_at = now};
  if (Status st = store.CreateUser(user); !st.ok() && st.code() != StatusCode::kAlreadyExists) {
    return st;
  }
  store::ApiKey key;
  // Derived from the hash, so that gateways starting together create the same key once.
  key.id = "key_admin_" + hash.substr(0, 12);
  key.user_id = kAdminUser;
  key.name = "admin.key";
  key.secret_hash = hash;
  key.prefix = gateway::DisplayPrefix(secret);
  key.is_admin = true;
  key.created_at = now;
  if (Status st = store.CreateApiKey(key); !st.ok() && st.code() != StatusCode::kAlreadyExists) {
    return st;
  }
  log::Info("admin key {} ({}) from admin.key is registered", key.id, key.prefix);
  return Status::Ok();
}

HealthMonitor::~HealthMonitor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthMonitor::Add(std::string name, std::function<bool()> check) {
  auto c = std::make_unique<Check>();
  c->name = std::move(name);
  c->fn = std::move(check);
  checks_.push_back(std::move(c));
}

void HealthMonitor::RunChecks() {
  for (auto& c : checks_) {
    bool ok = c->fn();
    if (ok != c->ok.exchange(ok)) {
      if (ok) log::Info("{} is reachable again", c->name);
      else log::Warn("{} is unreachable: not ready", c->name);
    }
  }
}

void HealthMonitor::Start() {
  for (auto& c : checks_) c->ok = true;  // log only changes from here on
  RunChecks();
  thread_ = std::thread([this] {
    NameThisThread("health-checks");
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      RunChecks();
      lock.lock();
    }
  });
}

std::vector<std::string> HealthMonitor::Failing() const {
  std::vector<std::string> out;
  for (const auto& c : checks_) {
    if (!c->ok.load()) out.push_back(c->name);
  }
  return out;
}

void AddClusterCommand(CLI::App& app, Commands& commands, const std::string& name,
                       const std::string& help, int64_t default_port,
                       std::function<int(const ClusterCommandOptions&)> run) {
  CLI::App* sub = app.add_subcommand(name, help);
  auto opts = std::make_shared<ClusterCommandOptions>();
  auto cfg = std::make_shared<config::Config>();
  DeclareLogOptions(*cfg, opts->log);
  DeclareHttpOptions(*cfg, opts->http, default_port);
  DeclareClusterOptions(*cfg, opts->cluster);
  cfg->Bind(*sub);
  commands.Add(sub, [opts, cfg, run = std::move(run)] {
    return RunWithConfig(*cfg, &opts->log, [&] { return run(*opts); });
  });
}

void AddBackendChecks(HealthMonitor& health, std::shared_ptr<redis::RedisClient> redis,
                      store::PostgresStore* store) {
  health.Add("redis", [redis] { return redis->Ping().ok(); });
  health.Add("postgres", [store] { return store->Ping().ok(); });
}

int ServeUntilSignal(const HttpConfig& http_config, http::Router router, const std::string& role,
                     std::function<std::vector<std::string>()> readiness,
                     const std::function<void()>& stop) {
  http::AddStandardRoutes(router, std::move(readiness), metrics::Registry::Default());
  http::HttpServer server(http_config.ToOptions(), std::move(router), metrics::Registry::Default());
  if (Status st = server.Start(); !st.ok()) {
    log::Error("cannot start the HTTP server: {}", st.message());
    stop();
    return 1;
  }
  log::Info("inferline {} listening on {}:{}", role, http_config.host, server.port());
  int sig = WaitForTerminationSignal();
  log::Info("received signal {}, shutting down (grace {} ms)", sig, http_config.shutdown_grace_ms);
  UnblockTerminationSignals();
  server.Shutdown();
  server.Wait();
  stop();
  log::Info("stopped");
  return 0;
}

}  // namespace inferline::app
