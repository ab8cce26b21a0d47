// Reservations and settlements per second through RedisQuotaLedger and a private redis-server
// on this machine (loopback). Usage: bench_redis_quota [threads=16] [reservations=50000]
// [users=100]. Every reservation goes through the full Reserve script (all seven windows
// limited), then Settle; the numbers are end to end, client threads included.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "quota/redis/redis_quota_ledger.h"
#include "redis/testing/redis_server.h"

using namespace inferline;

namespace {

double Run(int threads, int total, const std::function<void(int)>& op) {
  std::atomic<int> next{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < total; i = next++) op(i);
    });
  }
  for (auto& th : pool) th.join();
  return total / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 16;
  int total = argc > 2 ? std::atoi(argv[2]) : 50000;
  int users = argc > 3 ? std::atoi(argv[3]) : 100;
  if (threads < 1 || total < 1 || users < 1) {
    fmt::print(stderr, "usage: bench_redis_quota [threads] [reservations] [users]\n");
    return 2;
  }
  auto server = redis::testing::RedisServer::Start();
  if (!server.ok()) {
    fmt::print(stderr, "{}\n", server.status().ToString());
    return 1;
  }
  auto client = redis::RedisClient::Open((*server)->url(),
                                         {.pool_size = static_cast<size_t>(threads)});
  if (!client.ok()) return 1;
  quota::RedisQuotaLedger ledger(*client);
  quota::Limits limits{.concurrent_requests = 1 << 30, .requests_per_minute = 1 << 30,
                       .tokens_per_minute = int64_t{1} << 40, .requests_per_day = 1 << 30,
                       .tokens_per_day = int64_t{1} << 40, .requests_per_month = 1 << 30,
                       .tokens_per_month = int64_t{1} << 40};
  std::atomic<int> failures{0};
  auto now = quota::Clock::now();
  double reserve = Run(threads, total, [&](int i) {
    quota::ReserveRequest r{fmt::format("user{}", i % users), fmt::format("req{}", i), 300, 1};
    auto out = ledger.Reserve(r, limits, now);
    if (!out.ok() || !out->granted) ++failures;
  });
  double settle = Run(threads, total, [&](int i) {
    auto out = ledger.Settle(fmt::format("req{}", i), 120, now);
    if (!out.ok() || !*out) ++failures;
  });
  fmt::print("redis quota ledger, {} threads, {} users, {} reservations: reserve {:.0f}/s, "
             "settle {:.0f}/s, failures {}\n",
             threads, users, total, reserve, settle, failures.load());
  return failures.load() == 0 ? 0 : 1;
}
