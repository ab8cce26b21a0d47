// Finalize throughput of PostgresStore: group commit (a few writer sessions, up to 256 finalizes
// per transaction) against one transaction per finalize (max_batch 1, one session per writer),
// with 64 threads finalizing at once, against a private PostgreSQL server.
//
//   bench_postgres_finalize [--fsync] [--requests N] [--threads T]
//
// --fsync keeps the server's durable commit (fsync on, synchronous_commit on), which is what
// group commit saves; without it commits are cheap and only round trips are compared.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "store/postgres/postgres_migrations.h"
#include "store/postgres/postgres_store.h"
#include "store/postgres/testing/postgres_server.h"

using namespace inferline;
using namespace inferline::store;

namespace {

struct Mode {
  const char* name;
  int writers;
  size_t max_batch;
};

int Fail(const Status& st) {
  fmt::print(stderr, "error: {}\n", st.ToString());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool fsync = false;
  int requests = 20000, threads = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--fsync") fsync = true;
    if (a == "--requests" && i + 1 < argc) requests = std::atoi(argv[++i]);
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
  }
  auto server = testing::PostgresServer::Start({.fsync = fsync});
  if (!server.ok()) return Fail(server.status());
  metrics::Registry registry;
  fmt::print("finalize throughput, {} requests, {} threads, server fsync {}\n", requests, threads,
             fsync ? "on" : "off");
  fmt::print("{:<28} {:>12} {:>14} {:>10}\n", "mode", "finalizes/s", "transactions", "avg batch");
  int db = 0;
  for (Mode mode : {Mode{"group commit (2 writers)", 2, 256},
                    Mode{"one tx per finalize (16)", 16, 1},
                    Mode{"one tx per finalize (64)", 64, 1}}) {
    auto url = (*server)->CreateDatabase("bench" + std::to_string(db++));
    if (!url.ok()) return Fail(url.status());
    PostgresOptions o;
    o.url = *url;
    o.metrics = &registry;
    o.writers = mode.writers;
    o.max_batch = mode.max_batch;
    if (auto v = RunPostgresMigrations(o); !v.ok()) return Fail(v.status());
    auto s = PostgresStore::Open(o);
    if (!s.ok()) return Fail(s.status());
    std::atomic<int> errors{0};
    auto in_threads = [&](auto&& body) {
      std::vector<std::thread> ts;
      for (int t = 0; t < threads; ++t) ts.emplace_back(body, t);
      for (auto& t : ts) t.join();
    };
    in_threads([&](int t) {
      for (int i = t; i < requests; i += threads) {
        RequestRecord r;
        r.id = "r" + std::to_string(i);
        r.user_id = "u" + std::to_string(i % 100);
        r.model = "tiny";
        r.input_json = R"("hello")";
        if (!(*s)->CreateRequest(r, std::nullopt).ok()) ++errors;
      }
    });
    PgWriterStats before = (*s)->writer_stats();
    auto started = std::chrono::steady_clock::now();
    in_threads([&](int t) {
      for (int i = t; i < requests; i += threads) {
        RequestOutcome o;
        o.output_text = "some generated text";
        o.finish_reason = "stop";
        o.usage = TokenUsage{12, 34};
        o.worker_id = "w1";
        o.finished_at = Clock::now();
        auto r = (*s)->FinalizeRequest("r" + std::to_string(i), o);
        if (!r.ok() || !*r) ++errors;
      }
    });
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    PgWriterStats after = (*s)->writer_stats();
    uint64_t txs = after.transactions - before.transactions;
    fmt::print("{:<28} {:>12.0f} {:>14} {:>10.1f}{}\n", mode.name, requests / secs, txs,
               static_cast<double>(after.operations - before.operations) / txs,
               errors ? fmt::format("  ({} errors)", errors.load()) : "");
  }
  return 0;
}
