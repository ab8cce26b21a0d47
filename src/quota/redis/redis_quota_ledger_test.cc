// RedisQuotaLedger against a private redis-server: the shared QuotaLedger contract, the seed's
// key names and calendar expiries, 500 concurrent reservations at the limit from two "gateway
// replicas", and Redis going away.
#include "quota/redis/redis_quota_ledger.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdlib>
#include <thread>

#include "quota/quota_ledger_contract_test.h"
#include "redis/testing/redis_server.h"

namespace inferline::quota {
namespace {

using contract::Req;
using contract::Utc;
using redis::RedisClient;
using redis::testing::RedisServer;

// One server for the whole binary; every test starts from an empty database.
RedisServer& SharedServer() {
  static std::unique_ptr<RedisServer> server = [] {
    auto s = RedisServer::Start();
    if (!s.ok()) {
      fmt::print(stderr, "cannot start redis-server: {}\n", s.status().ToString());
      std::abort();
    }
    return std::move(*s);
  }();
  return *server;
}

std::shared_ptr<RedisClient> NewClient(size_t pool_size = 8, const std::string& url = "") {
  auto c = RedisClient::Open(url.empty() ? SharedServer().url() : url,
                             {.pool_size = pool_size});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

class RedisEnv {
 public:
  static constexpr bool kDurable = true;
  RedisEnv() {
    client_ = NewClient(32);
    EXPECT_TRUE(client_->Command({"FLUSHALL"}).ok());
    ledger_ = std::make_shared<RedisQuotaLedger>(client_);
  }
  std::shared_ptr<QuotaLedger> ledger() { return ledger_; }
  // A gateway restart: a new process state, the same Redis.
  void Restart(Time) { ledger_ = std::make_shared<RedisQuotaLedger>(NewClient(32)); }

 private:
  std::shared_ptr<RedisClient> client_;
  std::shared_ptr<QuotaLedger> ledger_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, QuotaLedgerContractTest, ::testing::Types<RedisEnv>);
}  // namespace contract

namespace {

class RedisQuotaLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(admin_->Command({"FLUSHALL"}).ok()); }
  int64_t Get(const std::string& key) { return *admin_->Command({"GET", key})->AsInteger(); }
  int64_t Pttl(const std::string& key) { return *admin_->Command({"PTTL", key})->AsInteger(); }
  std::shared_ptr<RedisClient> admin_ = NewClient(2);
};

TEST_F(RedisQuotaLedgerTest, KeysUseTheSeedNamesAndCalendarKeysEndAtTheBoundary) {
  RedisQuotaLedger ledger(NewClient());
  Limits l{.tokens_per_day = 1000, .requests_per_month = 50};
  ASSERT_TRUE(ledger.Reserve(Req("r1", 100, "42"), l, Utc(2024, 3, 10, 23))->granted);
  EXPECT_EQ(Get("user:42:quota:daily:tokens:reserved"), 100);
  EXPECT_EQ(Get("user:42:quota:daily:requests:reserved"), 1);
  EXPECT_EQ(Get("user:42:quota:daily:tokens:limit"), 1000);
  EXPECT_EQ(Get("user:42:quota:monthly:requests:limit"), 50);
  EXPECT_EQ(Get("user:42:quota:daily:period"), UtcDay(Utc(2024, 3, 10)));
  EXPECT_EQ(Get("user:42:quota:concurrent"), 1);
  // The daily keys expire at midnight (1 h away in the caller's clock), the monthly ones on the
  // 1st; the reservation itself never expires.
  int64_t day_ttl = Pttl("user:42:quota:daily:tokens:used");
  EXPECT_GT(day_ttl, 3600 * 1000 - 5000);
  EXPECT_LE(day_ttl, 3600 * 1000);
  int64_t month_ms = 21 * 86400 * 1000LL + 3600 * 1000;
  EXPECT_GT(Pttl("user:42:quota:monthly:tokens:used"), month_ms - 5000);
  EXPECT_LE(Pttl("user:42:quota:monthly:tokens:used"), month_ms);
  EXPECT_EQ(Pttl("reservation:r1"), -1);
  // A later request in the same day does not push the expiry back.
  ASSERT_TRUE(ledger.Reserve(Req("r2", 50, "42"), l, Utc(2024, 3, 10, 23, 30))->granted);
  EXPECT_GT(Pttl("user:42:quota:daily:period"), 1800 * 1000 + 60 * 1000);
  ASSERT_TRUE(*ledger.Settle("r1", 70, Utc(2024, 3, 10, 23, 31)));
  EXPECT_EQ(Get("user:42:quota:daily:tokens:used"), 70);
  EXPECT_EQ(Get("user:42:quota:daily:tokens:reserved"), 50);
  EXPECT_EQ(Get("user:42:quota:monthly:requests:used"), 1);
  EXPECT_TRUE(admin_->Command({"GET", "reservation:r1"})->is_nil());
  auto open = ledger.ListReservations();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].request_id, "r2");
  EXPECT_EQ((*open)[0].user_id, "42");
  EXPECT_EQ((*open)[0].created_at, Utc(2024, 3, 10, 23, 30));
}

// 500 reservations at once from 64 threads through two ledgers (two gateway replicas, each with
// its own connection pool), against limits in several windows at once: exactly the number that
// fits is granted, and no window is overspent.
TEST_F(RedisQuotaLedgerTest, FiveHundredConcurrentReservationsAtTheLimitNeverOverspend) {
  constexpr int kRequests = 500, kThreads = 64, kTokens = 37, kFit = 123;
  Limits l{.concurrent_requests = 400, .requests_per_minute = 450,
           .tokens_per_minute = kTokens * 200, .tokens_per_day = kTokens * kFit + kTokens - 1,
           .requests_per_month = 1000};
  RedisQuotaLedger a(NewClient(32)), b(NewClient(32));
  Time now = Utc(2024, 3, 10, 12);
  std::atomic<int> next{0}, granted{0}, refused{0}, errors{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      QuotaLedger& ledger = t % 2 == 0 ? static_cast<QuotaLedger&>(a) : b;
      for (int i = next++; i < kRequests; i = next++) {
        auto out = ledger.Reserve(Req(fmt::format("r{}", i), kTokens, "u"), l, now);
        if (!out.ok()) ++errors;
        else if (out->granted) ++granted;
        else ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("500 concurrent reservations: {:.0f} per second\n", kRequests / seconds);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(granted.load(), kFit);
  EXPECT_EQ(refused.load(), kRequests - kFit);
  auto usage = a.Usage("u", l, now);
  ASSERT_TRUE(usage.ok());
  for (const WindowUsage& u : *usage) {
    if (u.limit) {
      EXPECT_LE(u.used + u.reserved, *u.limit) << WindowName(u.window);
    }
  }
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).reserved, kFit * kTokens);
  EXPECT_EQ(contract::Find(*usage, Window::kMinuteRequests).reserved, kFit);
  EXPECT_EQ(contract::Find(*usage, Window::kConcurrentRequests).reserved, kFit);
  EXPECT_EQ(b.ListReservations()->size(), static_cast<size_t>(kFit));
  EXPECT_EQ(Get("user:u:quota:daily:tokens:reserved"), kFit * kTokens);
}

// The asynchronous form through the client's pipeline: 500 reservations queued at once, from
// two ledgers, answered in batches; the same exact outcome as the blocking form.
TEST_F(RedisQuotaLedgerTest, FiveHundredAsyncReservationsAtTheLimitNeverOverspend) {
  constexpr int kRequests = 500, kTokens = 37, kFit = 123;
  Limits l{.tokens_per_day = kTokens * kFit + kTokens - 1};
  RedisQuotaLedger a(NewClient(4)), b(NewClient(4));
  ASSERT_TRUE(a.ReservesWithoutBlocking());
  Time now = Utc(2024, 3, 10, 12);
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0, granted = 0, refused = 0, errors = 0, with_usage = 0;
  for (int i = 0; i < kRequests; ++i) {
    QuotaLedger& ledger = i % 2 == 0 ? static_cast<QuotaLedger&>(a) : b;
    ledger.ReserveReportingUsageAsync(
        Req(fmt::format("r{}", i), kTokens), l, now,
        [&](Result<QuotaLedger::ReserveReport> r) {
          std::lock_guard lock(mu);
          if (!r.ok()) ++errors;
          else if (r->outcome.granted) ++granted;
          else ++refused;
          if (r.ok() && r->usage) ++with_usage;
          ++answered;
          cv.notify_all();
        });
  }
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kRequests; }));
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(granted, kFit);
  EXPECT_EQ(refused, kRequests - kFit);
  EXPECT_EQ(with_usage, kRequests);
  EXPECT_EQ(Get("user:u:quota:daily:tokens:reserved"), kFit * kTokens);
  EXPECT_EQ(a.ListReservations()->size(), static_cast<size_t>(kFit));
}

// The same, with concurrency the binding window, and settlements racing new reservations.
TEST_F(RedisQuotaLedgerTest, ConcurrencyLimitHoldsUnderRacingReserveAndSettle) {
  constexpr int kThreads = 64, kPerThread = 8, kSlots = 10;
  Limits l{.concurrent_requests = kSlots};
  RedisQuotaLedger a(NewClient(32)), b(NewClient(32));
  Time now = Utc(2024, 3, 10, 12);
  std::atomic<int> in_flight{0}, max_in_flight{0}, granted{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      QuotaLedger& ledger = t % 2 == 0 ? static_cast<QuotaLedger&>(a) : b;
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = fmt::format("{}-{}", t, i);
        auto out = ledger.Reserve(Req(id, 1), l, now);
        if (!out.ok()) { ++errors; continue; }
        if (!out->granted) continue;
        ++granted;
        int cur = ++in_flight;
        for (int m = max_in_flight.load(); cur > m && !max_in_flight.compare_exchange_weak(m, cur);) {
        }
        --in_flight;
        if (!ledger.Settle(id, 1, now).ok()) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(granted.load(), 0);
  EXPECT_LE(max_in_flight.load(), kSlots);
  auto usage = a.Usage("u", l, now);
  EXPECT_EQ(contract::Find(*usage, Window::kConcurrentRequests).reserved, 0);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).used, granted.load());
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).reserved, 0);
}

TEST_F(RedisQuotaLedgerTest, RedisDownMeansUnavailableThenRecovers) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  RedisQuotaLedger ledger(NewClient(4, (*server)->url()));
  Limits l{.tokens_per_day = 100};
  Time now = Utc(2024, 3, 10, 12);
  ASSERT_TRUE(ledger.Reserve(Req("a", 10), l, now)->granted);
  (*server)->Kill();
  auto start = std::chrono::steady_clock::now();
  auto down = ledger.Reserve(Req("b", 10), l, now);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count();
  fmt::print("Reserve with Redis down answered in {:.1f} ms\n", ms);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(down.status().message().find("Redis"), std::string::npos) << down.status().ToString();
  EXPECT_EQ(ledger.Settle("a", 5, now).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(ledger.Usage("u", l, now).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(ledger.ListReservations().status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE((*server)->Restart().ok());
  Result<ReserveOutcome> back = Unavailable("not tried");
  for (int i = 0; i < 100 && !back.ok(); ++i) {
    back = ledger.Reserve(Req("c", 10), l, now);
    if (!back.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->granted);
}

TEST_F(RedisQuotaLedgerTest, ReserveReportingUsageSurvivesAScriptFlush) {
  // The pipelined EVALSHA finds no script after a SCRIPT FLUSH (as after a Redis restart): the
  // reservation must then run once, and the usage read must see it.
  RedisQuotaLedger ledger(NewClient());
  Limits l{.tokens_per_day = 100};
  Time now = Utc(2024, 3, 10, 12);
  ASSERT_TRUE(ledger.Reserve(Req("a", 10), l, now)->granted);  // the client learns the sha
  ASSERT_TRUE(admin_->Command({"SCRIPT", "FLUSH"}).ok());
  auto r = ledger.ReserveReportingUsage(Req("b", 20), l, now);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->outcome.granted);
  ASSERT_TRUE(r->usage.has_value());
  EXPECT_EQ(contract::Find(*r->usage, Window::kDailyTokens).reserved, 30);
  EXPECT_EQ(Get("user:u:quota:daily:tokens:reserved"), 30);
}

// The minute hash keeps running totals beside its per-second entries. A hash written before
// the totals existed (or one that lost them) is totalled from its entries on the next
// reservation; after that the totals follow every reservation, settlement and retirement.
TEST_F(RedisQuotaLedgerTest, MinuteTotalsAreRebuiltFromEntriesAndFollowThem) {
  RedisQuotaLedger ledger(NewClient());
  Limits l{.tokens_per_minute = 100};
  Time now = Utc(2024, 3, 10, 12);
  int64_t sec = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::string mk = "user:u:quota:minute";
  ASSERT_TRUE(admin_->Command({"HSET", mk, fmt::format("{}:tokens:used", sec - 70), "500",
                               fmt::format("{}:tokens:used", sec - 30), "60",
                               fmt::format("{}:requests:used", sec - 30), "1",
                               fmt::format("{}:tokens:reserved", sec - 10), "30",
                               fmt::format("{}:requests:reserved", sec - 10), "1"}).ok());
  EXPECT_FALSE(ledger.Reserve(Req("a", 11), l, now)->granted);  // 90 live: the old 500 aged out
  EXPECT_TRUE(admin_->Command({"HGET", mk, fmt::format("{}:tokens:used", sec - 70)})->is_nil());
  auto hget = [&](const char* field) { return *admin_->Command({"HGET", mk, field})->AsInteger(); };
  EXPECT_EQ(hget("total:tokens:used"), 60);
  EXPECT_EQ(hget("total:tokens:reserved"), 30);
  EXPECT_EQ(hget("total:requests:used"), 1);
  EXPECT_EQ(hget("total:requests:reserved"), 1);
  EXPECT_EQ(hget("span:oldest"), sec - 30);
  ASSERT_TRUE(ledger.Reserve(Req("b", 10), l, now)->granted);
  EXPECT_EQ(hget("total:tokens:reserved"), 40);
  ASSERT_TRUE(*ledger.Settle("b", 4, now + std::chrono::seconds(1)));
  EXPECT_EQ(hget("total:tokens:reserved"), 30);
  EXPECT_EQ(hget("total:tokens:used"), 64);
  EXPECT_EQ(hget("total:requests:used"), 2);
  // 30 s on, the entries of sec - 30 retire (60 tokens and a request leave the totals) and the
  // oldest second moves to the next one that has entries.
  auto c = ledger.ReserveReportingUsage(Req("c", 66), l, now + std::chrono::seconds(30));
  ASSERT_TRUE(c.ok() && c->outcome.granted);
  EXPECT_EQ(hget("total:tokens:used"), 4);
  EXPECT_EQ(hget("total:tokens:reserved"), 96);
  EXPECT_EQ(hget("total:requests:used"), 1);
  EXPECT_EQ(hget("total:requests:reserved"), 2);
  EXPECT_EQ(hget("span:oldest"), sec - 10);
  EXPECT_EQ(hget("span:newest"), sec + 30);
  // The usage that came back with the reservation: the minute's remaining tokens and when the
  // oldest entry ages out.
  ASSERT_TRUE(c->usage.has_value());
  WindowUsage minute = contract::Find(*c->usage, Window::kMinuteTokens);
  EXPECT_EQ(minute.remaining, 0);
  EXPECT_EQ(minute.resets_at, Time(std::chrono::seconds(sec - 10 + 60)));
}

TEST_F(RedisQuotaLedgerTest, LargeAmountsStayExact) {
  RedisQuotaLedger ledger(NewClient());
  int64_t big = 4'000'000'000'000'000;  // past Lua's %.14g, below 2^53
  Limits l{.tokens_per_month = 2 * big};
  Time now = Utc(2024, 3, 10, 12);
  ASSERT_TRUE(ledger.Reserve(Req("a", big), l, now)->granted);
  ASSERT_TRUE(*ledger.Settle("a", big - 1, now));
  auto u = ledger.Usage("u", l, now);
  EXPECT_EQ(contract::Find(*u, Window::kMonthlyTokens).used, big - 1);
  EXPECT_EQ(Get("user:u:quota:monthly:tokens:used"), big - 1);
}

}  // namespace
}  // namespace inferline::quota
