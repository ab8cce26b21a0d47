#include "cluster.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>

#include "store/postgres/postgres_options.h"

namespace inferline::distributed {
namespace fs = std::filesystem;

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kGateway: return "gateway";
    case Role::kWorker: return "worker";
    case Role::kCollector: return "collector";
  }
  return "?";
}

namespace {

std::string RandomSecret() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  std::string s = "sk-il-";
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 40; ++i) s += hex[rng() % 16];
  return s;
}

std::string Tail(const std::string& text, size_t lines) {
  std::deque<std::string> last;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

std::string ModelPath() {
  const char* src = std::getenv("INFERLINE_SOURCE_DIR");
  fs::path root = src != nullptr && *src != '\0' ? fs::path(src) : fs::current_path();
  return (root / "models" / "kjv-small").string();
}

}  // namespace

Result<std::unique_ptr<Cluster>> Cluster::Start(ClusterOptions options) {
  std::unique_ptr<Cluster> c(new Cluster(std::move(options)));
  c->dir_ = std::make_unique<store::testing::TempDir>();
  c->queue_prefix_ = fmt::format("{}{}.", c->options_.name, ::getpid());
  c->admin_key_ = RandomSecret();

  auto pg = store::testing::PostgresServer::Start();
  if (!pg.ok()) return pg.status().Annotate("starting PostgreSQL");
  c->postgres_ = std::move(*pg);
  auto db = c->postgres_->CreateDatabase("inferline");
  if (!db.ok()) return db.status().Annotate("creating the database");
  c->postgres_url_ = *db;

  auto redis = redis::testing::RedisServer::Start();
  if (!redis.ok()) return redis.status().Annotate("starting Redis");
  c->redis_ = std::move(*redis);
  auto client = redis::RedisClient::Open(c->redis_->url());
  if (!client.ok()) return client.status().Annotate("opening Redis");
  c->redis_client_ = *client;

  // The ctest run's node, or a private one (fault tests, or a run outside ctest).
  const char* state = std::getenv("INFERLINE_RABBITMQ_STATE");
  auto rabbit = !c->options_.own_rabbitmq && state != nullptr && *state != '\0'
                    ? queue::testing::RabbitMqServer::Attach(state)
                    : queue::testing::RabbitMqServer::Start();
  if (!rabbit.ok()) return rabbit.status().Annotate("RabbitMQ");
  c->rabbitmq_ = std::move(*rabbit);

  e2e::ProcessOptions migrate;
  migrate.subcommand = "migrate";
  migrate.args = c->CommonArgs();
  migrate.log_path = c->dir_->path() / "migrate.log";
  migrate.start_timeout = std::chrono::seconds(120);
  std::optional<int> rc = e2e::ServerProcess::RunToExit(migrate);
  if (rc != std::optional<int>(0)) {
    std::ifstream in(migrate.log_path);
    std::stringstream ss;
    ss << in.rdbuf();
    return Internal(fmt::format("inferline migrate failed:\n{}", ss.str()));
  }
  // The collector first (results have a consumer), then workers, then the gateways.
  for (int i = 0; i < c->options_.collectors; ++i) {
    if (auto r = c->Add(Role::kCollector); !r.ok()) return r.status();
  }
  for (int i = 0; i < c->options_.workers; ++i) {
    if (auto r = c->Add(Role::kWorker); !r.ok()) return r.status();
  }
  for (int i = 0; i < c->options_.gateways; ++i) {
    if (auto r = c->Add(Role::kGateway); !r.ok()) return r.status();
  }
  return c;
}

Cluster::~Cluster() {
  // Gateways first (they stop accepting), then workers, then the collector.
  for (Role role : {Role::kGateway, Role::kWorker, Role::kCollector}) {
    for (Slot& s : slots_) {
      if (s.role == role && s.process) (void)s.process->Terminate(std::chrono::seconds(30));
    }
  }
  slots_.clear();
  {
    std::lock_guard lock(sql_mu_);
    sql_.reset();
  }
  redis_client_.reset();
  rabbitmq_.reset();
  redis_.reset();
  postgres_.reset();
}

std::vector<std::string> Cluster::CommonArgs() const {
  std::vector<std::string> a = {"--rabbitmq-url",          rabbitmq_->url(),
                                "--rabbitmq-queue-prefix", queue_prefix_,
                                "--postgres-url",          postgres_url_,
                                "--redis-url",             redis_->url(),
                                "--admin-key",             admin_key_,
                                "--model",                 ModelPath(),
                                "--engine-threads",        "1"};
  a.insert(a.end(), options_.extra_args.begin(), options_.extra_args.end());
  return a;
}

Status Cluster::Launch(Slot& slot) {
  e2e::ProcessOptions o;
  o.subcommand = std::string(RoleName(slot.role));
  o.args = CommonArgs();
  if (slot.role == Role::kWorker) {
    o.args.insert(o.args.end(), options_.worker_args.begin(), options_.worker_args.end());
  }
  o.log_path = dir_->path() / fmt::format("{}-{}.{}.log", RoleName(slot.role), slot.index,
                                          ++slot.starts);
  o.start_timeout = std::chrono::seconds(120);
  slot.process = std::make_unique<e2e::ServerProcess>(o);
  if (!slot.process->ok()) {
    std::string log = slot.process->log();
    slot.process.reset();
    return Internal(fmt::format("inferline {} {} did not start:\n{}", RoleName(slot.role),
                                slot.index, log));
  }
  return Status::Ok();
}

Result<int> Cluster::Add(Role role) {
  int index = count(role);
  slots_.push_back(Slot{.role = role, .index = index});
  RETURN_IF_ERROR(Launch(slots_.back()));
  return index;
}

Cluster::Slot* Cluster::Find(Role role, int i) {
  for (Slot& s : slots_) {
    if (s.role == role && s.index == i) return &s;
  }
  return nullptr;
}

const Cluster::Slot* Cluster::Find(Role role, int i) const {
  for (const Slot& s : slots_) {
    if (s.role == role && s.index == i) return &s;
  }
  return nullptr;
}

int Cluster::count(Role role) const {
  int n = 0;
  for (const Slot& s : slots_) n += s.role == role;
  return n;
}

uint16_t Cluster::gateway_port(int i) const {
  const Slot* s = Find(Role::kGateway, i);
  return s != nullptr && s->process ? s->process->port() : 0;
}

e2e::ServerProcess* Cluster::process(Role role, int i) {
  Slot* s = Find(role, i);
  return s != nullptr && s->process && s->process->ok() ? s->process.get() : nullptr;
}

Status Cluster::Restart(Role role, int i) {
  Slot* s = Find(role, i);
  if (s == nullptr) return NotFound(fmt::format("no {} {}", RoleName(role), i));
  if (s->process) (void)s->process->Terminate(std::chrono::seconds(30));
  return Launch(*s);
}

void Cluster::Kill(Role role, int i) {
  if (Slot* s = Find(role, i); s != nullptr && s->process) s->process->Kill();
}

std::optional<int> Cluster::Stop(Role role, int i) {
  Slot* s = Find(role, i);
  if (s == nullptr || !s->process) return std::nullopt;
  return s->process->Terminate(std::chrono::seconds(60));
}

std::string Cluster::WorkerId(int i) {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  e2e::ServerProcess* p = process(Role::kWorker, i);
  return p != nullptr ? fmt::format("{}-{}", host, p->pid()) : "";
}

Result<store::PgResult> Cluster::Sql(std::string_view sql) {
  std::lock_guard lock(sql_mu_);
  // A session from before a server restart fails once; then connect again and retry.
  for (int attempt = 0;; ++attempt) {
    if (!sql_ || !sql_->ok()) {
      store::PostgresOptions o;
      o.url = postgres_url_;
      auto conn = store::PgConnection::Connect(o);
      if (!conn.ok()) return conn.status();
      sql_ = std::move(*conn);
    }
    Result<store::PgResult> r = sql_->Exec(sql);
    if (r.ok() || attempt > 0 || r.status().code() != StatusCode::kUnavailable) return r;
    sql_.reset();
  }
}

Result<redis::Reply> Cluster::Redis(const std::vector<std::string>& args) {
  return redis_client_->Command(args);
}

Result<int64_t> Cluster::RedisInt(const std::string& key) {
  auto r = Redis({"GET", key});
  if (!r.ok()) return r.status();
  if (r->type == redis::Reply::Type::kNil) return int64_t{0};
  return r->AsInteger();
}

Result<std::shared_ptr<queue::RabbitMqBroker>> Cluster::Broker() {
  queue::RabbitMqOptions o;
  o.url = rabbitmq_->url();
  o.queue_prefix = queue_prefix_;
  o.models = {model_};
  return queue::RabbitMqBroker::Create(o);
}

std::string Cluster::Logs(size_t lines_each) const {
  std::string out;
  for (const Slot& s : slots_) {
    out += fmt::format("--- {} {} ({}):\n", RoleName(s.role), s.index,
                       s.process ? "running" : "stopped");
    fs::path p = dir_->path() / fmt::format("{}-{}.{}.log", RoleName(s.role), s.index, s.starts);
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    out += Tail(ss.str(), lines_each);
  }
  return out;
}

}  // namespace inferline::distributed
