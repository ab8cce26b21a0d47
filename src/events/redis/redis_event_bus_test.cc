// RedisEventBus against a private redis-server: the shared EventBus contract, two bus instances
// (two gateway replicas) on one Redis, retention, and the pub/sub connection going away.
#include "events/redis/redis_event_bus.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <tuple>

#include "events/event_bus_contract_test.h"
#include "events/redis/event_scripts.h"
#include "redis/testing/redis_server.h"

namespace inferline::events {
namespace {

using contract::Collector;
using contract::Range;
using redis::RedisClient;
using redis::testing::RedisServer;

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

std::shared_ptr<RedisClient> NewClient(const std::string& url = "") {
  auto c = RedisClient::Open(url.empty() ? SharedServer().url() : url, {.pool_size = 16});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class RedisEnv {
 public:
  RedisEnv() {
    EXPECT_TRUE(NewClient()->Command({"FLUSHALL"}).ok());
    bus_ = std::make_shared<RedisEventBus>(NewClient());
  }
  std::shared_ptr<EventBus> bus() { return bus_; }

 private:
  std::shared_ptr<EventBus> bus_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, EventBusContractTest, ::testing::Types<RedisEnv>);
}  // namespace contract

namespace {

class RedisEventBusTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(admin_->Command({"FLUSHALL"}).ok()); }
  std::shared_ptr<RedisClient> admin_ = NewClient();
};

// An SSE client on replica B follows a request whose events are published through replica A:
// replay after its Last-Event-ID, then every live event, in order, once.
TEST_F(RedisEventBusTest, ASubscriberOnAnotherReplicaGetsEveryEvent) {
  RedisEventBus a(NewClient()), b(NewClient());
  ASSERT_TRUE(WaitFor([&] { return b.listening(); }));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.Publish("r", EventType::kToken, "{}").ok());
  Collector c;
  auto sub = b.Subscribe("r", 3, c.Callback());  // Last-Event-ID: 3
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_TRUE(sub->replay_complete);
  EXPECT_EQ(sub->last_id, 5);
  EXPECT_EQ(c.Ids(), (std::vector<int64_t>{4, 5}));
  std::thread publisher([&] {
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(a.Publish("r", EventType::kToken, fmt::format(R"({{"i":{}}})", i)).ok());
    }
    ASSERT_TRUE(a.Publish("r", EventType::kCompleted, R"({"finish_reason":"stop"})").ok());
  });
  // A second client joins mid-stream from the start.
  Collector late;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto sub2 = b.Subscribe("r", 0, late.Callback());
  ASSERT_TRUE(sub2.ok());
  publisher.join();
  c.WaitTerminal();
  late.WaitTerminal();
  EXPECT_EQ(c.Ids(), Range(4, 506));
  EXPECT_EQ(late.Ids(), Range(1, 506));
  EXPECT_EQ(c.Events()[4].data, R"({"i":2})");  // ids 4, 5, then i = 0, 1, 2
  EXPECT_EQ(c.Events().back().type, EventType::kCompleted);
  EXPECT_TRUE(b.Describe("r")->terminal);
  EXPECT_EQ(b.Publish("r", EventType::kFailed, "{}").status().code(),
            StatusCode::kFailedPrecondition);  // refused through either replica
}

// A process subscribes only to the channels of the requests it has subscribers for: a replica
// with none receives no event, and the last subscription to go unsubscribes.
TEST_F(RedisEventBusTest, AProcessListensOnlyToTheRequestsItFollows) {
  RedisEventBus a(NewClient()), b(NewClient());
  ASSERT_TRUE(WaitFor([&] { return a.listening() && b.listening(); }));
  auto subscribers = [&](const std::string& channel) {
    auto r = admin_->Command({"PUBSUB", "NUMSUB", channel});
    return r.ok() && r->elements.size() == 2 ? *r->elements[1].AsInteger() : -1;
  };
  EXPECT_EQ(*admin_->Command({"PUBSUB", "NUMPAT"})->AsInteger(), 0);
  ASSERT_TRUE(a.Publish("r", EventType::kQueued, "{}").ok());
  EXPECT_EQ(subscribers("events:r"), 0);
  {
    Collector c1, c2;
    auto s1 = b.Subscribe("r", 0, c1.Callback());
    auto s2 = b.Subscribe("r", 0, c2.Callback());
    ASSERT_TRUE(s1.ok() && s2.ok());
    EXPECT_TRUE(WaitFor([&] { return subscribers("events:r") == 1; }));  // one per process
    ASSERT_TRUE(a.Publish("r", EventType::kStarted, "{}").ok());
    ASSERT_TRUE(a.Publish("r", EventType::kCompleted, "{}").ok());
    c1.WaitTerminal();
    c2.WaitTerminal();
    EXPECT_EQ(c1.Ids(), Range(1, 3));
    EXPECT_EQ(c2.Ids(), Range(1, 3));
    EXPECT_EQ(subscribers("events:other"), 0);
  }
  EXPECT_TRUE(WaitFor([&] { return subscribers("events:r") == 0; }));
}

TEST_F(RedisEventBusTest, StreamsAreCappedAndExpireAfterTheirEnd) {
  RedisEventBus bus(NewClient(), {.max_events_per_stream = 3, .retention = std::chrono::seconds(7),
                                  .idle_ttl = std::chrono::seconds(100)});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bus.Publish("r", EventType::kToken, "{}").ok());
  EXPECT_EQ(*admin_->Command({"LLEN", "eventlog:r"})->AsInteger(), 3);
  int64_t ttl = *admin_->Command({"TTL", "eventlog:r"})->AsInteger();
  EXPECT_GT(ttl, 90);
  EXPECT_LE(ttl, 100);
  Collector all;
  auto from0 = bus.Subscribe("r", 0, all.Callback());
  ASSERT_TRUE(from0.ok());
  EXPECT_FALSE(from0->replay_complete);  // 1 and 2 were trimmed
  EXPECT_EQ(all.Ids(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(bus.Describe("r")->first_id, 3);
  // A range by id (how a subscriber fills a gap): clipped to what the list still holds.
  redis::RedisScript read{std::string(redis_events::kRead)};
  for (auto [from, to, want] : std::vector<std::tuple<int, int, std::vector<int64_t>>>{
           {4, 4, {4}}, {1, 4, {3, 4}}, {4, 0, {4, 5}}, {4, 99, {4, 5}}, {6, 0, {}}, {5, 4, {}}}) {
    auto r = admin_->Eval(read, {"eventlog:r"}, {std::to_string(from), std::to_string(to)});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->elements.size(), 4u) << r->Describe();
    EXPECT_EQ(*r->elements[0].AsInteger(), 3);
    EXPECT_EQ(*r->elements[1].AsInteger(), 5);
    EXPECT_EQ(r->elements[2].str, "0");
    std::vector<int64_t> ids;
    for (const auto& element : r->elements[3].elements) {
      Event e;
      ASSERT_TRUE(redis_events::ParseStored(element.str, &e)) << element.str;
      ids.push_back(e.id);
    }
    EXPECT_EQ(ids, want) << from << ".." << to;
  }
  ASSERT_TRUE(bus.Publish("r", EventType::kCompleted, "{}").ok());
  ttl = *admin_->Command({"TTL", "eventlog:r"})->AsInteger();
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 7);
  // A stream that expired is gone: a re-run starts again at 1.
  ASSERT_TRUE(admin_->Command({"DEL", "eventlog:r"}).ok());
  EXPECT_FALSE(bus.Describe("r")->exists);
  EXPECT_EQ(*bus.Publish("r", EventType::kQueued, "{}"), 1);
}

// Events published by another process while this one's pub/sub connection is down (or before it
// listens) are fetched from the stream when it is back.
TEST_F(RedisEventBusTest, CatchesUpAfterTheListenerReconnects) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string url = (*server)->url();
  RedisEventBus a(NewClient(url)),
      b(NewClient(url), {.listener_backoff = std::chrono::milliseconds(50)});
  ASSERT_TRUE(WaitFor([&] { return b.listening(); }));
  Collector c;
  auto sub = b.Subscribe("r", 0, c.Callback());
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(a.Publish("r", EventType::kQueued, "{}").ok());
  ASSERT_TRUE(WaitFor([&] { return c.Ids().size() == 1; }));
  (*server)->Kill();
  EXPECT_EQ(a.Publish("r", EventType::kStarted, "{}").status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE((*server)->Restart().ok());  // empty: the stream starts again
  ASSERT_TRUE(WaitFor([&] { return b.listening(); }));
  // Published while b may not be listening yet: b must still get them, from the stream.
  ASSERT_TRUE(WaitFor([&] { return a.Publish("r2", EventType::kQueued, "{}").ok(); }));
  Collector c2;
  auto sub2 = b.Subscribe("r2", 1, c2.Callback());
  ASSERT_TRUE(sub2.ok());
  ASSERT_TRUE(a.Publish("r2", EventType::kStarted, "{}").ok());
  ASSERT_TRUE(a.Publish("r2", EventType::kCompleted, "{}").ok());
  c2.WaitTerminal();
  EXPECT_EQ(c2.Ids(), (std::vector<int64_t>{2, 3}));
}

TEST_F(RedisEventBusTest, RedisDownMeansUnavailable) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok());
  RedisEventBus bus(NewClient((*server)->url()));
  (*server)->Kill();
  auto pub = bus.Publish("r", EventType::kQueued, "{}");
  EXPECT_EQ(pub.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(pub.status().message().find("Redis"), std::string::npos) << pub.status().ToString();
  EXPECT_EQ(bus.Subscribe("r", 0, [](const Event&) {}).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(bus.Describe("r").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace inferline::events
