#include "events/local/local_event_bus.h"

#include <gtest/gtest.h>

#include "events/event_bus_contract_test.h"

namespace inferline::events {
namespace {

class LocalEnv {
 public:
  std::shared_ptr<EventBus> bus() { return bus_; }

 private:
  std::shared_ptr<EventBus> bus_ = std::make_shared<LocalEventBus>();
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Local, EventBusContractTest, ::testing::Types<LocalEnv>);
}  // namespace contract

namespace {

using contract::Collector;

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  std::function<std::chrono::steady_clock::time_point()> Fn() {
    return [this] { return now; };
  }
};

TEST(LocalEventBus, KeepsTheNewestEventsAndSaysWhenReplayIsIncomplete) {
  LocalEventBus bus({.max_events_per_stream = 3});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bus.Publish("r", EventType::kToken, "{}").ok());
  Collector all;
  auto from0 = bus.Subscribe("r", 0, all.Callback());
  ASSERT_TRUE(from0.ok());
  EXPECT_FALSE(from0->replay_complete);
  EXPECT_EQ(all.Ids(), (std::vector<int64_t>{3, 4, 5}));
  Collector tail;
  auto from2 = bus.Subscribe("r", 2, tail.Callback());
  EXPECT_TRUE(from2->replay_complete);
  EXPECT_EQ(tail.Ids(), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(bus.Describe("r")->first_id, 3);
}

TEST(LocalEventBus, ForgetsFinishedStreamsAfterRetention) {
  FakeClock clock;
  LocalEventBus bus({.retention = std::chrono::minutes(5), .now = clock.Fn()});
  ASSERT_TRUE(bus.Publish("old", EventType::kCompleted, "{}").ok());
  clock.now += std::chrono::minutes(4);
  ASSERT_TRUE(bus.Publish("mid", EventType::kFailed, "{}").ok());
  EXPECT_TRUE(bus.Describe("old")->exists);
  clock.now += std::chrono::minutes(2);
  ASSERT_TRUE(bus.Publish("new", EventType::kCompleted, "{}").ok());  // sweeps
  EXPECT_FALSE(bus.Describe("old")->exists);
  EXPECT_TRUE(bus.Describe("mid")->exists);
  EXPECT_TRUE(bus.Describe("new")->exists);
}

TEST(LocalEventBus, CapsTheNumberOfFinishedStreams) {
  LocalEventBus bus({.max_finished_streams = 10});
  for (int i = 0; i < 25; ++i) {
    std::string id = "r" + std::to_string(i);
    ASSERT_TRUE(bus.Publish(id, EventType::kQueued, "{}").ok());
    ASSERT_TRUE(bus.Publish(id, EventType::kCompleted, "{}").ok());
  }
  EXPECT_EQ(bus.stream_count(), 10u);
  EXPECT_FALSE(bus.Describe("r14")->exists);
  EXPECT_TRUE(bus.Describe("r15")->exists);
}

TEST(LocalEventBus, DropsIdleUnfinishedStreamsWithoutListeners) {
  FakeClock clock;
  LocalEventBus bus({.idle_timeout = std::chrono::minutes(60), .now = clock.Fn()});
  ASSERT_TRUE(bus.Publish("orphan", EventType::kStarted, "{}").ok());
  ASSERT_TRUE(bus.Publish("watched", EventType::kStarted, "{}").ok());
  Collector c;
  auto sub = bus.Subscribe("watched", 0, c.Callback());
  ASSERT_TRUE(sub.ok());
  clock.now += std::chrono::minutes(61);
  ASSERT_TRUE(bus.Publish("fresh", EventType::kQueued, "{}").ok());  // first event sweeps
  EXPECT_FALSE(bus.Describe("orphan")->exists);
  EXPECT_TRUE(bus.Describe("watched")->exists);
  ASSERT_TRUE(bus.Publish("watched", EventType::kToken, "{}").ok());
  EXPECT_EQ(c.Ids(), (std::vector<int64_t>{1, 2}));
}

TEST(LocalEventBus, AListenerOnlyStreamGoesAwayWithItsListener) {
  LocalEventBus bus;
  Collector c;
  auto sub = bus.Subscribe("r", 0, c.Callback());
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(bus.stream_count(), 1u);
  sub->subscription.Reset();
  EXPECT_EQ(bus.stream_count(), 0u);
}

TEST(LocalEventBus, KnowsWhetherAnyoneFollowsAStreamLive) {
  LocalEventBus bus;
  EXPECT_FALSE(bus.HasLiveFollowers("r"));  // no stream at all
  ASSERT_TRUE(bus.Publish("r", EventType::kStarted, "{}").ok());
  EXPECT_FALSE(bus.HasLiveFollowers("r"));
  Collector answer, watcher;
  auto terminal_only = bus.Subscribe("r", 0, answer.Callback(), {.terminal_only = true});
  ASSERT_TRUE(terminal_only.ok());
  EXPECT_FALSE(bus.HasLiveFollowers("r")) << "a terminal-only subscriber follows nothing live";
  auto follower = bus.Subscribe("r", 0, watcher.Callback());
  ASSERT_TRUE(follower.ok());
  EXPECT_TRUE(bus.HasLiveFollowers("r"));
  EXPECT_FALSE(bus.HasLiveFollowers("other"));
  follower->subscription.Reset();
  EXPECT_FALSE(bus.HasLiveFollowers("r"));
  EXPECT_TRUE(answer.Ids().empty());
  EXPECT_EQ(watcher.Ids(), std::vector<int64_t>{1});
}

TEST(LocalEventBus, SubscriptionsMayOutliveTheBus) {
  Collector c;
  SubscribeResult sub;
  {
    LocalEventBus bus;
    ASSERT_TRUE(bus.Publish("r", EventType::kQueued, "{}").ok());
    sub = std::move(*bus.Subscribe("r", 0, c.Callback()));
  }
  sub.subscription.Reset();  // must not touch the destroyed bus
  EXPECT_EQ(c.Ids(), std::vector<int64_t>{1});
}

TEST(LocalEventBus, RefusesOversizedEvents) {
  LocalEventBus bus({.max_event_bytes = 8});
  EXPECT_EQ(bus.Publish("r", EventType::kToken, std::string(9, 'x')).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inferline::events
