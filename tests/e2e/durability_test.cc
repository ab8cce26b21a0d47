// End-to-end durability: `kill -9` the server while requests are queued and running. After a
// restart on the same data directory every accepted request reaches a terminal state, the quota
// is settled exactly once (the window's `used` equals the real usage of what ran, nothing stays
// reserved, the usage ledger agrees), and the events of a request whose history died with the
// process are synthesized from its record.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>

#include "e2e_client.h"
#include "server_process.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::e2e {
namespace {
namespace json = boost::json;

std::string Str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }

struct WindowUse {
  int64_t used = -1, reserved = -1;
};

WindowUse Use(uint16_t port, const std::string& key, std::string_view window) {
  WindowUse u;
  auto r = Call(port, "GET", "/v1/quota", {}, key);
  if (!r || r->status != 200) return u;
  json::object body = r->Json();  // (the loop must not range over a temporary's member)
  for (const auto& v : body["windows"].as_array()) {
    const json::object& o = v.as_object();
    if (o.at("window").as_string() != window) continue;
    u.used = o.at("used").as_int64();
    u.reserved = o.at("reserved").as_int64();
  }
  return u;
}

TEST(Durability, KillNineWithWorkInFlightThenRestart) {
  store::testing::TempDir dir;
  const auto data = dir.path() / "data";
  const std::vector<std::string> args = {"--engine-max-slots", "2"};
  constexpr int kRequests = 16;

  std::string admin, key;
  std::vector<std::string> ids;
  {
    ServerProcess first(data, args);
    ASSERT_TRUE(first.ok()) << first.log();
    admin = first.AdminKey();
    key = CreateKey(first.port(), admin, "dave", "unlimited");
    ASSERT_FALSE(key.empty());
    ASSERT_TRUE(SetLimits(first.port(), admin, "dave",
                          R"({"tokens_per_day":1000000,"requests_per_day":1000})"));
    for (int i = 0; i < kRequests; ++i) {
      auto r = Call(first.port(), "POST", "/v1/requests",
                    fmt::format(R"({{"model":"kjv-small","prompt":"Psalm {} of David","max_tokens":64}})",
                                i),
                    key);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 202u) << r->body;
      ids.push_back(Str(r->Json()["request_id"]));
    }
    // Kill as soon as the first request runs, with the others still waiting behind it.
    bool running = false;
    for (int i = 0; i < 2000 && !running; ++i) {
      auto r = Call(first.port(), "GET", "/v1/requests/" + ids.front(), {}, key);
      running = r && Str(r->Json()["status"]) != "queued";
      if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto last = Call(first.port(), "GET", "/v1/requests/" + ids.back(), {}, key);
    ASSERT_TRUE(running);
    EXPECT_EQ(Str(last->Json()["status"]), "queued");
    WindowUse before = Use(first.port(), key, "tokens_per_day");
    EXPECT_GT(before.reserved, 0);
    first.Kill();
  }

  ServerProcess second(data, args);
  ASSERT_TRUE(second.ok()) << second.log();
  EXPECT_EQ(second.AdminKey(), admin);  // not recreated
  int64_t real_tokens = 0;
  int64_t completed = 0;
  for (const auto& id : ids) {
    json::object doc = WaitTerminal(second.port(), key, id);
    ASSERT_FALSE(doc.empty()) << id << " never finished; log:\n" << second.log();
    EXPECT_EQ(Str(doc["status"]), "completed") << id;
    if (doc["usage"].is_object()) real_tokens += doc["usage"].as_object()["total_tokens"].as_int64();
    completed += Str(doc["status"]) == "completed";
  }
  WindowUse tokens = Use(second.port(), key, "tokens_per_day");
  EXPECT_EQ(tokens.reserved, 0);
  EXPECT_EQ(tokens.used, real_tokens);
  WindowUse requests = Use(second.port(), key, "requests_per_day");
  EXPECT_EQ(requests.reserved, 0);
  EXPECT_EQ(requests.used, completed);
  auto usage = Call(second.port(), "GET", "/v1/admin/usage?user=dave", {}, admin);
  ASSERT_EQ(usage->status, 200u);
  EXPECT_EQ(usage->Json()["totals"].as_object()["total_tokens"].as_int64(), real_tokens);
  EXPECT_EQ(usage->Json()["totals"].as_object()["requests"].as_int64(), kRequests);

  // Events for a request finished before the crash: its history is gone with the old process,
  // so the stream is synthesized from the record and ends with the stored text.
  for (const auto& id : {ids.front(), ids.back()}) {
    auto events = ParseSse(Call(second.port(), "GET", "/v1/requests/" + id + "/events", {}, key)->body);
    ASSERT_FALSE(events.empty()) << id;
    EXPECT_EQ(events.back().event, "completed");
    json::object doc = WaitTerminal(second.port(), key, id);
    EXPECT_EQ(Str(json::parse(events.back().data).as_object()["text"]),
              Str(doc["result"].as_object()["text"]));
  }
  EXPECT_EQ(second.Terminate(), std::optional<int>(0)) << second.log();
}

}  // namespace
}  // namespace inferline::e2e
