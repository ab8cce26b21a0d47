// End-to-end: 1,000 concurrent requests from one key whose daily tokens allow only some of them.
// The ledger must never let reservations exceed the limit, every refusal must be a 429 with
// Retry-After, and once everything settled, `used` must equal the real usage of the requests
// that ran, exactly.
#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/process_limits.h"
#include "e2e_fixture.h"

namespace inferline::e2e {
namespace {
namespace json = boost::json;

constexpr int kRequests = 1000;
constexpr int64_t kDailyTokens = 2500;

struct Window {
  int64_t limit = -1, used = 0, reserved = 0;
};

Window DailyTokens(uint16_t port, const std::string& key) {
  Window w;
  auto r = Call(port, "GET", "/v1/quota", {}, key);
  if (!r || r->status != 200) return w;
  json::object body = r->Json();  // (the loop must not range over a temporary's member)
  for (const auto& v : body["windows"].as_array()) {
    const json::object& o = v.as_object();
    if (o.at("window").as_string() != "tokens_per_day") continue;
    w.limit = o.at("limit").is_int64() ? o.at("limit").as_int64() : -1;
    w.used = o.at("used").as_int64();
    w.reserved = o.at("reserved").as_int64();
  }
  return w;
}

TEST_F(E2E, ConcurrentRequestsNeverOverspendAndSettleExactly) {
  // A thousand client connections at once: more than a login shell's usual soft limit of
  // 1,024 descriptors leaves room for (the server raises its own at startup).
  ASSERT_GE(RaiseOpenFileLimit().soft, static_cast<uint64_t>(kRequests) + 64)
      << "this test needs a hard limit on open files above " << kRequests + 64;
  std::string key = CreateKey(port(), admin_, "carol", "unlimited");
  ASSERT_FALSE(key.empty());
  ASSERT_TRUE(SetLimits(port(), admin_, "carol", fmt::format(R"({{"tokens_per_day":{}}})",
                                                             kDailyTokens)));

  std::mutex mu;
  std::vector<std::string> accepted;
  std::vector<Response> refused;
  std::vector<std::string> other;
  std::atomic<bool> running{true};
  std::atomic<int64_t> worst_charge{0};
  // Watch the window while the requests pour in: reserved + used may never pass the limit.
  std::thread watcher([&] {
    while (running) {
      Window w = DailyTokens(port(), key);
      int64_t charge = w.used + w.reserved;
      int64_t prev = worst_charge.load();
      while (charge > prev && !worst_charge.compare_exchange_weak(prev, charge)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::vector<std::thread> clients;
  std::atomic<int> go{0};
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i] {
      while (go.load() == 0) std::this_thread::yield();
      auto r = Call(port(), "POST", "/v1/requests",
                    fmt::format(R"({{"model":"kjv-small","prompt":"And God said {}","max_tokens":16}})",
                                i),
                    key);
      std::lock_guard lock(mu);
      if (r && r->status == 202) {
        accepted.push_back(std::string(r->Json()["request_id"].as_string()));
      } else if (r && r->status == 429) {
        refused.push_back(*r);
      } else {
        other.push_back(r ? fmt::format("{} {}", r->status, r->body) : "no response");
      }
    });
  }
  go = 1;
  for (auto& t : clients) t.join();

  EXPECT_TRUE(other.empty()) << other.front();
  EXPECT_GT(accepted.size(), 0u);
  EXPECT_GT(refused.size(), 0u);
  EXPECT_EQ(accepted.size() + refused.size(), static_cast<size_t>(kRequests));
  for (const auto& r : refused) {
    int retry = std::atoi(r.Header("retry-after").c_str());
    EXPECT_GE(retry, 1) << r.body;
    EXPECT_EQ(r.ErrorField("type"), "insufficient_quota") << r.body;
    EXPECT_EQ(r.ErrorField("param"), "tokens_per_day") << r.body;
    EXPECT_EQ(r.Header("x-ratelimit-limit-tokens"), std::to_string(kDailyTokens));
  }

  // Everything accepted runs to the end; then the window holds exactly the real usage.
  int64_t real_usage = 0;
  int64_t with_usage = 0;
  for (const auto& id : accepted) {
    json::object doc = WaitTerminal(port(), key, id);
    ASSERT_FALSE(doc.empty()) << id << " did not finish";
    EXPECT_EQ(doc["status"].as_string(), "completed") << id;
    if (doc["usage"].is_object()) {
      real_usage += doc["usage"].as_object()["total_tokens"].as_int64();
      ++with_usage;
    }
  }
  running = false;
  watcher.join();
  EXPECT_LE(worst_charge.load(), kDailyTokens);
  Window w = DailyTokens(port(), key);
  EXPECT_EQ(w.limit, kDailyTokens);
  EXPECT_EQ(w.reserved, 0);
  EXPECT_EQ(w.used, real_usage);
  EXPECT_LE(w.used, kDailyTokens);
  // The usage ledger agrees.
  auto usage = Call(port(), "GET", "/v1/admin/usage?user=carol", {}, admin_);
  ASSERT_EQ(usage->status, 200u);
  json::object totals = usage->Json()["totals"].as_object();
  EXPECT_EQ(totals["total_tokens"].as_int64(), real_usage);
  EXPECT_EQ(totals["requests"].as_int64(), with_usage);
}

}  // namespace
}  // namespace inferline::e2e
