// Contract tests of the EventBus seam, reusable by every implementation: instantiate with an
// environment type that provides
//   std::shared_ptr<EventBus> bus();
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "events/event_bus.h"

namespace inferline::events::contract {

// Collects events from any thread; Wait blocks until a terminal event arrived.
class Collector {
 public:
  EventCallback Callback() {
    return [this](const Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      if (IsTerminal(e.type)) cv_.notify_all();
    };
  }
  std::vector<int64_t> Ids() {
    std::lock_guard lock(mu_);
    std::vector<int64_t> ids;
    for (const Event& e : events_) ids.push_back(e.id);
    return ids;
  }
  std::vector<Event> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  void WaitTerminal() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !events_.empty() && IsTerminal(events_.back().type); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

inline std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

template <class Env>
class EventBusContractTest : public ::testing::Test {
 protected:
  EventBus& bus() { return *env_.bus(); }
  int64_t Pub(std::string_view rid, EventType t, std::string data = "{}") {
    auto id = bus().Publish(rid, t, std::move(data));
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : -1;
  }
  Env env_;
};

TYPED_TEST_SUITE_P(EventBusContractTest);

TYPED_TEST_P(EventBusContractTest, IdsAreMonotonicPerRequest) {
  EXPECT_EQ(this->Pub("a", EventType::kQueued), 1);
  EXPECT_EQ(this->Pub("a", EventType::kStarted), 2);
  EXPECT_EQ(this->Pub("b", EventType::kQueued), 1);
  EXPECT_EQ(this->Pub("a", EventType::kToken, R"({"text":"hi"})"), 3);
  EXPECT_EQ(this->Pub("b", EventType::kStarted), 2);
  StreamInfo info = *this->bus().Describe("a");
  EXPECT_TRUE(info.exists);
  EXPECT_EQ(info.first_id, 1);
  EXPECT_EQ(info.last_id, 3);
  EXPECT_FALSE(info.terminal);
  EXPECT_FALSE(this->bus().Describe("unknown")->exists);
}

TYPED_TEST_P(EventBusContractTest, ReplaysAfterTheGivenIdThenDeliversLive) {
  this->Pub("r", EventType::kQueued);
  this->Pub("r", EventType::kStarted);
  this->Pub("r", EventType::kToken, R"({"text":"a"})");
  Collector c;
  auto sub = this->bus().Subscribe("r", 1, c.Callback());
  ASSERT_TRUE(sub.ok());
  EXPECT_TRUE(sub->replay_complete);
  EXPECT_EQ(sub->last_id, 3);
  EXPECT_FALSE(sub->terminal);
  EXPECT_EQ(c.Ids(), (std::vector<int64_t>{2, 3}));  // replayed before Subscribe returned
  this->Pub("r", EventType::kToken, R"({"text":"b"})");
  this->Pub("r", EventType::kCompleted, R"({"finish_reason":"stop"})");
  c.WaitTerminal();
  std::vector<Event> got = c.Events();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2].data, R"({"text":"b"})");
  EXPECT_EQ(got[3].type, EventType::kCompleted);
  EXPECT_EQ(got[3].id, 5);
}

TYPED_TEST_P(EventBusContractTest, ATerminalOnlySubscriberGetsOnlyTheTerminalEvent) {
  this->Pub("r", EventType::kStarted);
  this->Pub("r", EventType::kToken, R"({"text":"a"})");
  Collector c;
  auto sub = this->bus().Subscribe("r", 0, c.Callback(), {.terminal_only = true});
  ASSERT_TRUE(sub.ok());
  this->Pub("r", EventType::kToken, R"({"text":"b"})");
  this->Pub("r", EventType::kCompleted, R"({"finish_reason":"stop"})");
  c.WaitTerminal();
  std::vector<Event> got = c.Events();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, EventType::kCompleted);
  EXPECT_EQ(got[0].id, 4);
  // Replayed too: only the terminal event of a finished stream.
  Collector late;
  auto again = this->bus().Subscribe("r", 0, late.Callback(), {.terminal_only = true});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(late.Ids(), std::vector<int64_t>{4});
}

TYPED_TEST_P(EventBusContractTest, AStreamEndsWithItsFirstTerminalEvent) {
  this->Pub("r", EventType::kQueued);
  this->Pub("r", EventType::kCancelled);
  EXPECT_EQ(this->bus().Publish("r", EventType::kCompleted, "{}").status().code(),
            StatusCode::kFailedPrecondition);
  Collector c;
  auto sub = this->bus().Subscribe("r", 0, c.Callback());
  ASSERT_TRUE(sub.ok());
  EXPECT_TRUE(sub->terminal);
  EXPECT_EQ(c.Ids(), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(this->bus().Describe("r")->terminal);
}

TYPED_TEST_P(EventBusContractTest, UnsubscribedCallbacksNeverRunAgain) {
  Collector c;
  auto sub = this->bus().Subscribe("r", 0, c.Callback());
  ASSERT_TRUE(sub.ok());
  this->Pub("r", EventType::kQueued);
  sub->subscription.Reset();
  EXPECT_FALSE(sub->subscription.active());
  this->Pub("r", EventType::kStarted);
  EXPECT_EQ(c.Ids(), std::vector<int64_t>{1});
}

TYPED_TEST_P(EventBusContractTest, ACallbackMayDropItsOwnSubscription) {
  Subscription held;
  std::vector<int64_t> seen;
  auto sub = this->bus().Subscribe("r", 0, [&](const Event& e) {
    seen.push_back(e.id);
    if (e.id == 2) held.Reset();
  });
  ASSERT_TRUE(sub.ok());
  held = std::move(sub->subscription);
  for (int i = 0; i < 4; ++i) this->Pub("r", EventType::kToken);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));
}

TYPED_TEST_P(EventBusContractTest, ConcurrentPublishAndSubscribeIsGapFree) {
  constexpr int kEvents = 2000;
  std::thread publisher([&] {
    for (int i = 0; i < kEvents; ++i) this->Pub("r", EventType::kToken, "{}");
    this->Pub("r", EventType::kCompleted, "{}");
  });
  std::vector<std::thread> subscribers;
  std::vector<std::unique_ptr<Collector>> collectors(8);
  std::vector<int64_t> after(8, 0);
  std::vector<SubscribeResult> subs(8);
  for (int s = 0; s < 8; ++s) {
    collectors[s] = std::make_unique<Collector>();
    subscribers.emplace_back([&, s] {
      std::mt19937 rng(s);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
      int64_t last = this->bus().Describe("r")->last_id;
      after[s] = last > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(last + 1)) : 0;
      auto r = this->bus().Subscribe("r", after[s], collectors[s]->Callback());
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->replay_complete);
      subs[s] = std::move(*r);
    });
  }
  for (auto& t : subscribers) t.join();
  publisher.join();
  for (int s = 0; s < 8; ++s) {
    collectors[s]->WaitTerminal();
    EXPECT_EQ(collectors[s]->Ids(), Range(after[s] + 1, kEvents + 1)) << "subscriber " << s;
  }
}

TYPED_TEST_P(EventBusContractTest, ReportsAnIncompleteReplay) {
  // A client that saw events this bus never had (e.g. before a restart).
  Collector c;
  auto sub = this->bus().Subscribe("unknown", 57, c.Callback());
  ASSERT_TRUE(sub.ok());
  EXPECT_FALSE(sub->replay_complete);
  EXPECT_EQ(sub->last_id, 0);
}

TYPED_TEST_P(EventBusContractTest, RejectsBadArguments) {
  EXPECT_EQ(this->bus().Publish("", EventType::kQueued, "{}").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->bus().Subscribe("r", -1, [](const Event&) {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->bus().Subscribe("r", 0, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->bus().Describe("").status().code(), StatusCode::kInvalidArgument);
}

REGISTER_TYPED_TEST_SUITE_P(EventBusContractTest, IdsAreMonotonicPerRequest,
                            ReplaysAfterTheGivenIdThenDeliversLive,
                            ATerminalOnlySubscriberGetsOnlyTheTerminalEvent,
                            AStreamEndsWithItsFirstTerminalEvent,
                            UnsubscribedCallbacksNeverRunAgain, ACallbackMayDropItsOwnSubscription,
                            ConcurrentPublishAndSubscribeIsGapFree, ReportsAnIncompleteReplay,
                            RejectsBadArguments);

}  // namespace inferline::events::contract
