// Contract tests of the QuotaLedger seam, reusable by every implementation: instantiate with an
// environment type that provides
//   static constexpr bool kDurable;        // state survives Restart()
//   std::shared_ptr<QuotaLedger> ledger();
//   void Restart(Time now);                // durable only: a new ledger on the same data
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "quota/quota_ledger.h"

namespace inferline::quota::contract {

inline Time Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return Time(sys_days(year(y) / month(mo) / day(d)).time_since_epoch() + hours(h) +
              minutes(mi) + seconds(s));
}

inline ReserveRequest Req(const std::string& id, int64_t tokens, const std::string& user = "u") {
  return ReserveRequest{.user_id = user, .request_id = id, .tokens = tokens, .requests = 1};
}

inline WindowUsage Find(const std::vector<WindowUsage>& all, Window w) {
  for (const WindowUsage& u : all) {
    if (u.window == w) return u;
  }
  ADD_FAILURE() << "window missing: " << WindowName(w);
  return {};
}

template <class Env>
class QuotaLedgerContractTest : public ::testing::Test {
 protected:
  QuotaLedger& ledger() { return *env_.ledger(); }
  bool Granted(const ReserveRequest& r, const Limits& l, Time now) {
    auto out = ledger().Reserve(r, l, now);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() && out->granted;
  }
  WindowUsage UsageOf(Window w, const Limits& l, Time now, const std::string& user = "u") {
    auto all = ledger().Usage(user, l, now);
    EXPECT_TRUE(all.ok());
    EXPECT_EQ(all->size(), kAllWindows.size());
    return Find(*all, w);
  }
  Env env_;
};

TYPED_TEST_SUITE_P(QuotaLedgerContractTest);

TYPED_TEST_P(QuotaLedgerContractTest, RefusesPastTheDailyLimitWithTheResetTime) {
  Limits l{.tokens_per_day = 100};
  Time now = Utc(2024, 3, 10, 15);
  EXPECT_TRUE(this->Granted(Req("a", 60), l, now));
  auto refused = this->ledger().Reserve(Req("b", 50), l, now);
  ASSERT_TRUE(refused.ok());
  ASSERT_FALSE(refused->granted);
  ASSERT_TRUE(refused->exceeded.has_value());
  EXPECT_EQ(refused->exceeded->window, Window::kDailyTokens);
  EXPECT_EQ(refused->exceeded->limit, 100);
  EXPECT_EQ(refused->exceeded->current, 60);
  EXPECT_EQ(refused->exceeded->requested, 50);
  EXPECT_EQ(refused->exceeded->retry_after, std::chrono::hours(9));
  EXPECT_FALSE(refused->exceeded->never_fits);
  EXPECT_TRUE(this->Granted(Req("c", 40), l, now));
  WindowUsage u = this->UsageOf(Window::kDailyTokens, l, now);
  EXPECT_EQ(u.limit, 100);
  EXPECT_EQ(u.used, 0);
  EXPECT_EQ(u.reserved, 100);
  EXPECT_EQ(u.remaining, 0);
  EXPECT_EQ(u.resets_at, Utc(2024, 3, 11));
  EXPECT_FALSE(this->UsageOf(Window::kMonthlyTokens, l, now).remaining.has_value());
  EXPECT_EQ(this->UsageOf(Window::kMonthlyTokens, l, now).resets_at, Utc(2024, 4, 1));
  EXPECT_EQ(this->UsageOf(Window::kDailyRequests, l, now).reserved, 2);
}

TYPED_TEST_P(QuotaLedgerContractTest, ARefusalChargesNoWindow) {
  Limits l{.requests_per_minute = 2, .tokens_per_day = 1000};
  Time now = Utc(2024, 3, 10, 12);
  EXPECT_TRUE(this->Granted(Req("a", 10), l, now));
  EXPECT_TRUE(this->Granted(Req("b", 10), l, now));
  auto refused = this->ledger().Reserve(Req("c", 10), l, now);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->granted);
  EXPECT_EQ(refused->exceeded->window, Window::kMinuteRequests);
  EXPECT_EQ(this->UsageOf(Window::kDailyTokens, l, now).reserved, 20);
  EXPECT_EQ(this->UsageOf(Window::kConcurrentRequests, l, now).reserved, 2);
  EXPECT_EQ(*this->ledger().Settle("c", 10, now), false);  // never reserved
  // The refused id holds nothing: a retry once the window has room is granted.
  auto retried = this->ledger().Reserve(Req("c", 10), l, now + std::chrono::minutes(2));
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_TRUE(retried->granted);
}

TYPED_TEST_P(QuotaLedgerContractTest, RetryAfterIsTheLongestOfTheFullWindows) {
  Limits l{.tokens_per_minute = 50, .tokens_per_day = 50};
  Time now = Utc(2024, 3, 10, 23, 0);
  EXPECT_TRUE(this->Granted(Req("a", 50), l, now));
  auto refused = this->ledger().Reserve(Req("b", 1), l, now);
  ASSERT_FALSE(refused->granted);
  EXPECT_EQ(refused->exceeded->window, Window::kDailyTokens);  // 1 h, not 60 s
  EXPECT_EQ(refused->exceeded->retry_after, std::chrono::hours(1));
}

TYPED_TEST_P(QuotaLedgerContractTest, SettleRefundsTheUnusedPartOnce) {
  Limits l{.concurrent_requests = 1, .tokens_per_day = 100};
  Time now = Utc(2024, 3, 10, 12);
  EXPECT_TRUE(this->Granted(Req("a", 100), l, now));
  EXPECT_FALSE(this->Granted(Req("b", 1), l, now));  // concurrency and tokens both full
  EXPECT_EQ(*this->ledger().Settle("a", 30, now), true);
  EXPECT_EQ(*this->ledger().Settle("a", 50, now), false);
  WindowUsage u = this->UsageOf(Window::kDailyTokens, l, now);
  EXPECT_EQ(u.used, 30);
  EXPECT_EQ(u.reserved, 0);
  EXPECT_EQ(u.remaining, 70);
  EXPECT_EQ(this->UsageOf(Window::kDailyRequests, l, now).used, 1);
  EXPECT_EQ(this->UsageOf(Window::kConcurrentRequests, l, now).reserved, 0);
  EXPECT_TRUE(this->Granted(Req("b", 70), l, now));
  EXPECT_FALSE(this->Granted(Req("c", 1), l, now));  // concurrency again
  // A request that never ran gives its request back too.
  EXPECT_EQ(*this->ledger().Settle("b", 0, now, 0), true);
  EXPECT_EQ(this->UsageOf(Window::kDailyRequests, l, now).used, 1);
  EXPECT_EQ(this->UsageOf(Window::kDailyTokens, l, now).used, 30);
}

TYPED_TEST_P(QuotaLedgerContractTest, ARequestLargerThanTheLimitNeverFits) {
  Limits l{.tokens_per_minute = 500, .tokens_per_day = 100};
  auto refused = this->ledger().Reserve(Req("a", 200), l, Utc(2024, 3, 10));
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->granted);
  EXPECT_EQ(refused->exceeded->window, Window::kDailyTokens);
  EXPECT_TRUE(refused->exceeded->never_fits);
}

TYPED_TEST_P(QuotaLedgerContractTest, DailyWindowResetsAtUtcMidnight) {
  Limits l{.tokens_per_day = 100};
  EXPECT_TRUE(this->Granted(Req("a", 90), l, Utc(2024, 3, 10, 23, 59, 50)));
  ASSERT_TRUE(*this->ledger().Settle("a", 90, Utc(2024, 3, 10, 23, 59, 55)));
  auto refused = this->ledger().Reserve(Req("b", 20), l, Utc(2024, 3, 10, 23, 59, 59));
  ASSERT_FALSE(refused->granted);
  EXPECT_EQ(refused->exceeded->retry_after, std::chrono::seconds(1));
  EXPECT_TRUE(this->Granted(Req("b", 100), l, Utc(2024, 3, 11, 0, 0, 0)));
  EXPECT_EQ(this->UsageOf(Window::kDailyTokens, l, Utc(2024, 3, 11, 0, 0, 1)).reserved, 100);
  EXPECT_EQ(this->UsageOf(Window::kDailyTokens, l, Utc(2024, 3, 11, 0, 0, 1)).used, 0);
}

TYPED_TEST_P(QuotaLedgerContractTest, MonthlyWindowResetsOnTheFirst) {
  Limits l{.tokens_per_month = 100};
  EXPECT_TRUE(this->Granted(Req("a", 100), l, Utc(2024, 1, 31, 23)));
  ASSERT_TRUE(*this->ledger().Settle("a", 100, Utc(2024, 1, 31, 23, 30)));
  auto refused = this->ledger().Reserve(Req("b", 1), l, Utc(2024, 1, 31, 23, 30));
  ASSERT_FALSE(refused->granted);
  EXPECT_EQ(refused->exceeded->retry_after, std::chrono::minutes(30));
  EXPECT_TRUE(this->Granted(Req("b", 100), l, Utc(2024, 2, 1, 0, 0, 1)));
  EXPECT_EQ(this->UsageOf(Window::kMonthlyTokens, l, Utc(2024, 2, 2)).resets_at, Utc(2024, 3, 1));
  // December rolls into the next year.
  EXPECT_EQ(this->UsageOf(Window::kMonthlyTokens, l, Utc(2024, 12, 5)).resets_at, Utc(2025, 1, 1));
}

TYPED_TEST_P(QuotaLedgerContractTest, SettlingAfterMidnightChargesTheDayOfTheReservation) {
  Limits l{.tokens_per_day = 100};
  EXPECT_TRUE(this->Granted(Req("a", 100), l, Utc(2024, 3, 10, 23, 59)));
  ASSERT_TRUE(*this->ledger().Settle("a", 80, Utc(2024, 3, 11, 0, 1)));
  WindowUsage today = this->UsageOf(Window::kDailyTokens, l, Utc(2024, 3, 11, 0, 2));
  EXPECT_EQ(today.used, 0);
  EXPECT_EQ(today.reserved, 0);
  EXPECT_EQ(this->UsageOf(Window::kMonthlyTokens, l, Utc(2024, 3, 11, 0, 2)).used, 80);
  EXPECT_TRUE(this->Granted(Req("b", 100), l, Utc(2024, 3, 11, 0, 2)));
}

TYPED_TEST_P(QuotaLedgerContractTest, MinuteWindowSlides) {
  Limits l{.tokens_per_minute = 100};
  Time t0 = Utc(2024, 3, 10, 12, 0, 0);
  EXPECT_TRUE(this->Granted(Req("a", 60), l, t0));
  ASSERT_TRUE(*this->ledger().Settle("a", 60, t0 + std::chrono::seconds(1)));
  auto refused = this->ledger().Reserve(Req("b", 50), l, t0 + std::chrono::seconds(30));
  ASSERT_FALSE(refused->granted);
  EXPECT_EQ(refused->exceeded->window, Window::kMinuteTokens);
  EXPECT_EQ(refused->exceeded->retry_after, std::chrono::seconds(30));
  EXPECT_EQ(this->UsageOf(Window::kMinuteTokens, l, t0 + std::chrono::seconds(30)).resets_at,
            t0 + std::chrono::seconds(60));
  EXPECT_FALSE(this->Granted(Req("b", 50), l, t0 + std::chrono::seconds(59)));
  EXPECT_TRUE(this->Granted(Req("b", 50), l, t0 + std::chrono::seconds(60)));
  EXPECT_EQ(this->UsageOf(Window::kMinuteTokens, l, t0 + std::chrono::seconds(61)).used, 0);
}

TYPED_TEST_P(QuotaLedgerContractTest, RacingReservesNeverOverspend) {
  Limits l{.tokens_per_day = 1000};
  Time now = Utc(2024, 3, 10, 12);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string id = std::to_string(t) + "/" + std::to_string(i);
        auto out = this->ledger().Reserve(Req(id, 7), l, now);
        if (out.ok() && out->granted) ++granted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 1000 / 7);
  EXPECT_EQ(this->UsageOf(Window::kDailyTokens, l, now).reserved, (1000 / 7) * 7);
}

TYPED_TEST_P(QuotaLedgerContractTest, RejectsBadInput) {
  Limits l;
  Time now = Utc(2024, 3, 10);
  EXPECT_EQ(this->ledger().Reserve(Req("", 1), l, now).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->ledger().Reserve(Req("a", 1, ""), l, now).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->ledger().Reserve(Req("a", -1), l, now).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->ledger().Reserve(Req("a", 1), Limits{.tokens_per_day = -5}, now).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(this->Granted(Req("a", 1), l, now));  // unlimited
  EXPECT_EQ(this->ledger().Reserve(Req("a", 1), l, now).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(this->ledger().Settle("a", -1, now).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(QuotaLedgerContractTest, OutstandingReservationsSurviveARestart) {
  if constexpr (!TypeParam::kDurable) GTEST_SUCCEED() << "not durable";
  else {
    Limits l{.concurrent_requests = 5, .tokens_per_day = 1000};
    Time now = Utc(2024, 3, 10, 12);
    for (const char* id : {"r1", "r2", "r3"}) ASSERT_TRUE(this->Granted(Req(id, 100), l, now));
    ASSERT_TRUE(*this->ledger().Settle("r1", 30, now));
    this->env_.Restart(now + std::chrono::seconds(5));
    auto open = this->ledger().ListReservations();
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open->size(), 2u);
    EXPECT_EQ((*open)[0].request_id, "r2");
    EXPECT_EQ((*open)[0].tokens, 100);
    EXPECT_EQ((*open)[1].request_id, "r3");
    WindowUsage u = this->UsageOf(Window::kDailyTokens, l, now);
    EXPECT_EQ(u.used, 30);
    EXPECT_EQ(u.reserved, 200);
    EXPECT_EQ(this->UsageOf(Window::kConcurrentRequests, l, now).reserved, 2);
    EXPECT_EQ(*this->ledger().Settle("r1", 30, now), false);  // settled before the crash
    EXPECT_EQ(*this->ledger().Settle("r2", 40, now), true);
    this->env_.Restart(now + std::chrono::seconds(10));
    EXPECT_EQ(*this->ledger().Settle("r2", 40, now), false);
    u = this->UsageOf(Window::kDailyTokens, l, now);
    EXPECT_EQ(u.used, 70);
    EXPECT_EQ(u.reserved, 100);
    EXPECT_EQ(this->UsageOf(Window::kMonthlyTokens, l, now).used, 70);
  }
}

TYPED_TEST_P(QuotaLedgerContractTest, ReserveReportingUsageSeesItsOwnReservation) {
  Limits l{.concurrent_requests = 5, .requests_per_minute = 10, .tokens_per_day = 100};
  Time now = Utc(2024, 3, 10, 12);
  auto compare = [&](const std::vector<WindowUsage>& got) {
    auto want = this->ledger().Usage("u", l, now);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(got.size(), want->size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].window, (*want)[i].window);
      EXPECT_EQ(got[i].used, (*want)[i].used) << WindowName(got[i].window);
      EXPECT_EQ(got[i].reserved, (*want)[i].reserved) << WindowName(got[i].window);
      EXPECT_EQ(got[i].remaining, (*want)[i].remaining) << WindowName(got[i].window);
    }
  };
  auto granted = this->ledger().ReserveReportingUsage(Req("a", 60), l, now);
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  EXPECT_TRUE(granted->outcome.granted);
  ASSERT_TRUE(granted->usage.has_value());
  EXPECT_EQ(Find(*granted->usage, Window::kDailyTokens).reserved, 60);
  EXPECT_EQ(Find(*granted->usage, Window::kDailyTokens).remaining, 40);
  EXPECT_EQ(Find(*granted->usage, Window::kConcurrentRequests).reserved, 1);
  compare(*granted->usage);
  auto refused = this->ledger().ReserveReportingUsage(Req("b", 50), l, now);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_FALSE(refused->outcome.granted);
  ASSERT_TRUE(refused->outcome.exceeded.has_value());
  EXPECT_EQ(refused->outcome.exceeded->window, Window::kDailyTokens);
  ASSERT_TRUE(refused->usage.has_value());
  EXPECT_EQ(Find(*refused->usage, Window::kDailyTokens).reserved, 60);  // nothing charged
  compare(*refused->usage);
  EXPECT_EQ(this->ledger().ReserveReportingUsage(Req("a", 1), l, now).status().code(),
            StatusCode::kAlreadyExists);
}

// The sliding minute against a reference model over fifteen minutes of random traffic: bursts,
// settlements of part or none of what was reserved, quiet gaps longer than the window. Every
// decision and every reported total must match the model exactly, and the usage a reservation
// reports must match a separate read.
TYPED_TEST_P(QuotaLedgerContractTest, MinuteWindowMatchesAReferenceModel) {
  Limits l{.requests_per_minute = 40, .tokens_per_minute = 1000};
  std::mt19937 rng(7);
  struct Entry {
    int64_t sec, tokens;
  };
  std::map<std::string, Entry> open, settled;  // by request id
  Time now = Utc(2024, 3, 10, 12);
  const Time end = now + std::chrono::minutes(15);
  auto sec_of = [](Time t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  auto live = [&](bool tokens) {
    int64_t total = 0, cutoff = sec_of(now) - 60;
    for (const auto* m : {&open, &settled}) {
      for (const auto& [id, e] : *m) {
        if (e.sec > cutoff) total += tokens ? e.tokens : 1;
      }
    }
    return total;
  };
  int n = 0, granted = 0, refused = 0;
  while (now < end) {
    int step = std::uniform_int_distribution<int>(0, 99)(rng);
    now += step < 1 ? std::chrono::seconds(70) : std::chrono::milliseconds(step * 10);
    if (!open.empty() && std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
      auto it = open.begin();
      std::advance(it, std::uniform_int_distribution<size_t>(0, open.size() - 1)(rng));
      int64_t actual = std::uniform_int_distribution<int64_t>(0, it->second.tokens)(rng);
      ASSERT_TRUE(*this->ledger().Settle(it->first, actual, now));
      // A settlement inside the window moves the entry to what was used; outside, it is gone.
      settled[it->first] = Entry{it->second.sec, actual};
      open.erase(it);
    } else {
      std::string id = "m" + std::to_string(n++);
      int64_t want = std::uniform_int_distribution<int64_t>(1, 150)(rng);
      bool fits = live(true) + want <= l.tokens_per_minute &&
                  live(false) + 1 <= l.requests_per_minute;
      auto report = this->ledger().ReserveReportingUsage(Req(id, want), l, now);
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      ASSERT_EQ(report->outcome.granted, fits) << "request " << id << " at " << sec_of(now);
      // The usage that comes back with the reservation is what a separate read reports.
      ASSERT_TRUE(report->usage.has_value());
      auto read = this->ledger().Usage("u", l, now);
      ASSERT_TRUE(read.ok());
      ASSERT_EQ(report->usage->size(), read->size());
      for (size_t w = 0; w < read->size(); ++w) {
        const WindowUsage &a = (*report->usage)[w], &b = (*read)[w];
        ASSERT_EQ(a.window, b.window);
        ASSERT_EQ(a.used, b.used) << WindowName(a.window) << " at " << sec_of(now);
        ASSERT_EQ(a.reserved, b.reserved) << WindowName(a.window) << " at " << sec_of(now);
        ASSERT_EQ(a.remaining, b.remaining) << WindowName(a.window);
        ASSERT_EQ(a.resets_at, b.resets_at) << WindowName(a.window) << " at " << sec_of(now);
      }
      if (fits) {
        open[id] = Entry{sec_of(now), want};
        ++granted;
      } else {
        ++refused;
      }
    }
    WindowUsage t = this->UsageOf(Window::kMinuteTokens, l, now);
    WindowUsage r = this->UsageOf(Window::kMinuteRequests, l, now);
    ASSERT_EQ(t.used + t.reserved, live(true)) << "at " << sec_of(now);
    ASSERT_EQ(r.used + r.reserved, live(false)) << "at " << sec_of(now);
  }
  EXPECT_GT(granted, 100);
  EXPECT_GT(refused, 100);
}

REGISTER_TYPED_TEST_SUITE_P(QuotaLedgerContractTest, RefusesPastTheDailyLimitWithTheResetTime,
                            ARefusalChargesNoWindow, RetryAfterIsTheLongestOfTheFullWindows,
                            SettleRefundsTheUnusedPartOnce, ARequestLargerThanTheLimitNeverFits,
                            DailyWindowResetsAtUtcMidnight, MonthlyWindowResetsOnTheFirst,
                            SettlingAfterMidnightChargesTheDayOfTheReservation,
                            MinuteWindowSlides, MinuteWindowMatchesAReferenceModel,
                            RacingReservesNeverOverspend, RejectsBadInput,
                            OutstandingReservationsSurviveARestart,
                            ReserveReportingUsageSeesItsOwnReservation);

}  // namespace inferline::quota::contract
