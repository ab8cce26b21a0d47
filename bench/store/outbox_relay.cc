// Outbox relay throughput: how fast OutboxRelay moves a backlog of outbox rows from PostgreSQL to
// RabbitMQ (claimed, published, confirmed by RabbitMQ, deleted), against a private PostgreSQL
// server and a private RabbitMQ node started by the bench.
//
//   bench_outbox_relay [--fsync] [--messages N] [--payload BYTES] [--batch B] [--relays 1,2]
//
// Each round fills a fresh database's outbox with N rows (one statement), starts R relays
// (each with its own RabbitMqBroker, like R gateway replicas) and times them until the outbox is
// empty: every row is then confirmed by RabbitMQ (a row is deleted only after its confirm). The
// queue's depth is checked against N afterwards. A first round of up to 2000 rows with one
// relay warms the fresh RabbitMQ node up (printed as warm-up; it starts slower). --fsync keeps
// PostgreSQL's durable commit; the RabbitMQ quorum queue always writes its log to disk before
// confirming.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "queue/rabbitmq/rabbitmq_broker.h"
#include "queue/rabbitmq/testing/rabbitmq_server.h"
#include "store/postgres/outbox_relay.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_migrations.h"
#include "store/postgres/testing/postgres_server.h"

using namespace inferline;

namespace {

int Fail(const Status& st) {
  fmt::print(stderr, "error: {}\n", st.ToString());
  return 1;
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (int v = std::atoi(item.c_str()); v > 0) out.push_back(v);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool fsync = false;
  int messages = 10000, payload = 400, batch = 200;
  std::vector<int> relay_counts = {1, 2};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool more = i + 1 < argc;
    if (a == "--fsync") fsync = true;
    else if (a == "--messages" && more) messages = std::atoi(argv[++i]);
    else if (a == "--payload" && more) payload = std::atoi(argv[++i]);
    else if (a == "--batch" && more) batch = std::atoi(argv[++i]);
    else if (a == "--relays" && more) relay_counts = ParseList(argv[++i]);
    else {
      fmt::print(stderr, "usage: {} [--fsync] [--messages N] [--payload BYTES] [--batch B] "
                 "[--relays 1,2]\n", argv[0]);
      return 2;
    }
  }
  if (messages <= 0 || payload < 0 || batch <= 0 || relay_counts.empty()) {
    fmt::print(stderr, "--messages, --batch and --relays must be positive\n");
    return 2;
  }

  auto pg = store::testing::PostgresServer::Start({.fsync = fsync});
  if (!pg.ok()) return Fail(pg.status());
  auto rabbit = queue::testing::RabbitMqServer::Start();
  if (!rabbit.ok()) return Fail(rabbit.status());
  metrics::Registry registry;

  fmt::print("outbox relay throughput: {} rows of {} bytes, batch {}, PostgreSQL fsync {}\n",
             messages, payload, batch, fsync ? "on" : "off");
  fmt::print("{:>7} {:>12} {:>10} {:>12}\n", "relays", "messages/s", "seconds", "queue depth");
  // A warm-up round first: the first queue and the first sessions of a fresh node are slower.
  struct Round {
    int relays;
    int rows;
    bool warmup;
  };
  std::vector<Round> rounds = {{1, std::min(messages, 2000), true}};
  for (int relays : relay_counts) rounds.push_back({relays, messages, false});
  int round = 0;
  for (auto [relays, rows, warmup] : rounds) {
    ++round;
    auto url = (*pg)->CreateDatabase(fmt::format("relay{}", round));
    if (!url.ok()) return Fail(url.status());
    store::PostgresOptions db;
    db.url = *url;
    db.metrics = &registry;
    if (auto v = store::RunPostgresMigrations(db); !v.ok()) return Fail(v.status());
    auto conn = store::PgConnection::Connect(db);
    if (!conn.ok()) return Fail(conn.status());
    auto filled = (*conn)->Exec(fmt::format(
        "INSERT INTO outbox (queue, payload, message_id, model, tokens, created_at) "
        "SELECT 'inference_requests.tiny', rpad('{{\"request_id\":\"r' || i || '\"}}', {}, ' '), "
        "'r' || i, 'tiny', 100, 0 FROM generate_series(1, {}) AS i",
        payload, rows));
    if (!filled.ok()) return Fail(filled.status());

    queue::RabbitMqOptions ro;
    ro.url = (*rabbit)->url();
    ro.models = {"tiny"};
    ro.queue_prefix = fmt::format("bench{}.", round);
    ro.max_length = rows + 1000;
    std::vector<std::shared_ptr<queue::RabbitMqBroker>> brokers;
    std::vector<std::unique_ptr<store::OutboxRelay>> running;
    for (int r = 0; r < relays; ++r) {
      auto b = queue::RabbitMqBroker::Create(ro);
      if (!b.ok()) return Fail(b.status());
      brokers.push_back(*b);
      running.push_back(std::make_unique<store::OutboxRelay>(
          db, *brokers.back(), store::OutboxRelayOptions{.batch_size = batch}));
    }
    auto started = std::chrono::steady_clock::now();
    for (auto& r : running) {
      if (Status st = r->Start(); !st.ok()) return Fail(st);
    }
    while (true) {
      auto left = (*conn)->Exec("SELECT count(*) FROM outbox");
      if (!left.ok()) return Fail(left.status());
      if (left->Int(0, 0) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    uint64_t published = 0;
    for (auto& r : running) {
      r->Stop();
      published += r->published();
    }
    auto depth = brokers.front()->Depth("inference_requests.tiny");
    if (!depth.ok()) return Fail(depth.status());
    fmt::print("{:>7} {:>12.0f} {:>10.2f} {:>12}{}{}\n", relays, rows / secs, secs, *depth,
               warmup ? "  (warm-up)" : "",
               published == static_cast<uint64_t>(rows) && *depth == rows
                   ? ""
                   : fmt::format("  (MISMATCH: {} published)", published));
  }
  return 0;
}
