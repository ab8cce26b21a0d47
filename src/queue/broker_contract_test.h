// Contract tests of the Broker seam, reusable by every implementation. Three suites, so that a
// broker instantiates the points it can honour and leaves out, with a comment saying why, those
// it cannot:
//   BrokerContractTest          every broker. Env provides
//                                 std::shared_ptr<Broker> broker();  // max_deliveries = 3
//   BrokerLeaseContractTest     leases with a visibility timeout on an injected clock. Env adds
//                                 static constexpr bool kDurable;           // survives Restart()
//                                 void Advance(std::chrono::milliseconds);  // moves the clock
//                                 void Restart();  // durable only: a new broker on the same data
//   BrokerOrderingContractTest  priorities, backlog tokens and message-id deduplication.
// Dead-letter notices may arrive asynchronously (RabbitMQ dead-letters in the background), so
// the tests wait for them; a broker that has them at once returns at once.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "queue/broker.h"

namespace inferline::queue::contract {

using std::chrono::milliseconds;
using std::chrono::seconds;

inline ConsumeOptions Take(int n, milliseconds visibility = seconds(30)) {
  return ConsumeOptions{.max_messages = n, .visibility_timeout = visibility};
}

template <class Env>
class BrokerContractTestBase : public ::testing::Test {
 protected:
  Broker& broker() { return *env_.broker(); }
  std::vector<Delivery> MustConsume(std::string_view q, const ConsumeOptions& o) {
    auto got = broker().Consume(q, o);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::vector<Delivery>();
  }
  // Waits (bounded) for a dead-letter notice that may still be on its way.
  std::vector<Delivery> ConsumeNotice(std::string_view q) {
    ConsumeOptions o = Take(1);
    o.wait = seconds(30);
    return MustConsume(q, o);
  }
  Env env_;
};

template <class Env>
class BrokerContractTest : public BrokerContractTestBase<Env> {};
template <class Env>
class BrokerLeaseContractTest : public BrokerContractTestBase<Env> {};
template <class Env>
class BrokerOrderingContractTest : public BrokerContractTestBase<Env> {};

TYPED_TEST_SUITE_P(BrokerContractTest);
TYPED_TEST_SUITE_P(BrokerLeaseContractTest);
TYPED_TEST_SUITE_P(BrokerOrderingContractTest);

constexpr std::string_view kQ = "inference_requests.tiny";

TYPED_TEST_P(BrokerContractTest, DeliversFifoAndAckRemoves) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "a", {.tokens = 10}).ok());
  ASSERT_TRUE(b.Publish(kQ, "b", {.tokens = 20}).ok());
  ASSERT_TRUE(b.Publish(kQ, "c", {.message_id = "id-c", .model = "tiny", .tokens = 1}).ok());
  EXPECT_EQ(*b.Depth(kQ), 3);

  auto got = this->MustConsume(kQ, Take(2));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "a");
  EXPECT_EQ(got[1].payload, "b");
  EXPECT_EQ(got[0].delivery_count, 1);
  EXPECT_EQ(got[1].meta.tokens, 20);
  EXPECT_FALSE(got[0].dead_lettered);
  EXPECT_EQ(got[0].queue, kQ);
  QueueStats s = *b.Stats(kQ);
  EXPECT_EQ(s.ready, 1);
  EXPECT_EQ(s.leased, 2);

  for (const Delivery& d : got) ASSERT_TRUE(b.Ack(d).ok());
  EXPECT_EQ(b.Ack(got[0]).code(), StatusCode::kFailedPrecondition);  // already acked
  EXPECT_EQ(b.Nack(got[1], true).status().code(), StatusCode::kFailedPrecondition);
  auto last = this->MustConsume(kQ, Take(10));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].payload, "c");
  EXPECT_EQ(last[0].meta.model, "tiny");
  EXPECT_EQ(last[0].meta.message_id, "id-c");
  ASSERT_TRUE(b.Ack(last[0]).ok());
  EXPECT_EQ(*b.Depth(kQ), 0);
  EXPECT_TRUE(this->MustConsume(kQ, Take(10)).empty());
  EXPECT_TRUE(this->MustConsume("inference_requests.other", Take(10)).empty());
}

TYPED_TEST_P(BrokerOrderingContractTest, DeliversByPriorityThenFifoAndAckRemoves) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "a", {.tokens = 10}).ok());
  ASSERT_TRUE(b.Publish(kQ, "b", {.tokens = 20}).ok());
  ASSERT_TRUE(b.Publish(kQ, "urgent", {.tokens = 5, .priority = 9}).ok());
  ASSERT_TRUE(b.Publish(kQ, "c", {.model = "tiny", .tokens = 1}).ok());
  EXPECT_EQ(*b.Depth(kQ), 4);
  EXPECT_EQ(*b.BacklogTokens(kQ), 36);

  auto got = this->MustConsume(kQ, Take(3));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].payload, "urgent");
  EXPECT_EQ(got[1].payload, "a");
  EXPECT_EQ(got[2].payload, "b");
  EXPECT_EQ(got[0].delivery_count, 1);
  EXPECT_FALSE(got[0].dead_lettered);
  EXPECT_EQ(got[0].queue, kQ);
  QueueStats s = *b.Stats(kQ);
  EXPECT_EQ(s.ready, 1);
  EXPECT_EQ(s.leased, 3);
  EXPECT_EQ(s.backlog_tokens, 36);  // leased work is still work to do

  for (const Delivery& d : got) ASSERT_TRUE(b.Ack(d).ok());
  EXPECT_EQ(b.Ack(got[0]).code(), StatusCode::kFailedPrecondition);  // already acked
  auto last = this->MustConsume(kQ, Take(10));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].payload, "c");
  EXPECT_EQ(last[0].meta.model, "tiny");
  ASSERT_TRUE(b.Ack(last[0]).ok());
  EXPECT_EQ(*b.Depth(kQ), 0);
  EXPECT_EQ(*b.BacklogTokens(kQ), 0);
  EXPECT_TRUE(this->MustConsume(kQ, Take(10)).empty());
  EXPECT_TRUE(this->MustConsume("inference_requests.other", Take(10)).empty());
}

TYPED_TEST_P(BrokerLeaseContractTest, ExpiredLeaseRedeliversAndTheOldLeaseIsStale) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "m", {}).ok());
  auto first = this->MustConsume(kQ, Take(1, seconds(10)));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(this->MustConsume(kQ, Take(1)).empty());  // invisible while leased
  this->env_.Advance(seconds(11));
  auto second = this->MustConsume(kQ, Take(1, seconds(10)));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].payload, "m");
  EXPECT_EQ(second[0].delivery_count, 2);
  EXPECT_EQ(b.Ack(first[0]).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(b.Nack(first[0], true).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(b.ExtendLease(first[0], seconds(5)).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(b.Ack(second[0]).ok());
}

// A worker's result: published to another queue, and the request's message acked with it.
TYPED_TEST_P(BrokerContractTest, PublishAndAckPublishesTheResultAndAcksTheRequest) {
  Broker& b = this->broker();
  constexpr std::string_view kResults = "inference_results";
  ASSERT_TRUE(b.Publish(kQ, "request", {.message_id = "r1"}).ok());
  auto got = this->MustConsume(kQ, Take(1));
  ASSERT_EQ(got.size(), 1u);
  Broker::PublishAckResult r = b.PublishAndAck(kResults, "result", {.message_id = "r1"}, got[0]);
  ASSERT_TRUE(r.published.ok()) << r.published.ToString();
  EXPECT_TRUE(r.acked.ok()) << r.acked.ToString();
  EXPECT_EQ(*b.Depth(kQ), 0);
  auto results = this->MustConsume(kResults, Take(10));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].payload, "result");
  ASSERT_TRUE(b.Ack(results[0]).ok());
  // The same delivery again: the publish goes through, the ack reports the spent lease.
  r = b.PublishAndAck(kResults, "again", {}, got[0]);
  EXPECT_TRUE(r.published.ok());
  EXPECT_EQ(r.acked.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->MustConsume(kResults, Take(10)).size(), 1u);
}

TYPED_TEST_P(BrokerLeaseContractTest, ExtendLeaseKeepsAMessageFromRedelivery) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "long", {}).ok());
  auto got = this->MustConsume(kQ, Take(1, seconds(10)));
  ASSERT_EQ(got.size(), 1u);
  this->env_.Advance(seconds(8));
  ASSERT_TRUE(b.ExtendLease(got[0], seconds(10)).ok());
  this->env_.Advance(seconds(8));  // 16 s after the lease, 8 s after the extension
  EXPECT_TRUE(this->MustConsume(kQ, Take(1)).empty());
  EXPECT_TRUE(b.Ack(got[0]).ok());
}

TYPED_TEST_P(BrokerContractTest, DeadLettersAfterMaxDeliveriesAndTellsTheConsumer) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "poison", {.message_id = "r1", .tokens = 7}).ok());
  for (int i = 1; i <= 3; ++i) {
    auto got = this->MustConsume(kQ, Take(1));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].delivery_count, i);
    EXPECT_FALSE(got[0].dead_lettered);
    auto outcome = b.Nack(got[0], true);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(*outcome, i < 3 ? NackOutcome::kRequeued : NackOutcome::kDeadLettered);
  }
  auto notice = this->ConsumeNotice(kQ);
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_TRUE(notice[0].dead_lettered);
  EXPECT_EQ(notice[0].meta.message_id, "r1");
  EXPECT_EQ(b.Stats(kQ)->ready, 0);
  EXPECT_EQ(b.Stats(kQ)->backlog_tokens, 0);  // no longer work to do
  ASSERT_TRUE(b.Ack(notice[0]).ok());
  EXPECT_TRUE(this->MustConsume(kQ, Take(1)).empty());
  std::string dlq = DeadLetterQueueName(kQ);
  EXPECT_EQ(*b.Depth(dlq), 1);  // kept for inspection
  EXPECT_EQ(b.Stats(kQ)->dead, 1);
}

TYPED_TEST_P(BrokerLeaseContractTest, CrashLoopingMessageDeadLettersThroughLeaseExpiry) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "kills-the-worker", {}).ok());
  for (int i = 1; i <= 3; ++i) {
    auto got = this->MustConsume(kQ, Take(1, seconds(1)));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_FALSE(got[0].dead_lettered);
    this->env_.Advance(seconds(2));  // the worker died holding it
  }
  auto notice = this->MustConsume(kQ, Take(1, seconds(1)));
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_TRUE(notice[0].dead_lettered);
  // Until the notice is acked it comes back, so the request is failed at least once.
  this->env_.Advance(seconds(2));
  auto again = this->MustConsume(kQ, Take(1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].dead_lettered);
  ASSERT_TRUE(b.Ack(again[0]).ok());
  EXPECT_EQ(*b.Depth(DeadLetterQueueName(kQ)), 1);
}

TYPED_TEST_P(BrokerContractTest, NackWithoutRequeueDeadLettersAtOnce) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "bad", {}).ok());
  auto got = this->MustConsume(kQ, Take(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(*b.Nack(got[0], false), NackOutcome::kDeadLettered);
  auto notice = this->ConsumeNotice(kQ);
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_TRUE(notice[0].dead_lettered);
}

TYPED_TEST_P(BrokerLeaseContractTest, NackWithDelayHidesTheMessageUntilThen) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "later", {}).ok());
  auto got = this->MustConsume(kQ, Take(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(*b.Nack(got[0], true, seconds(5)), NackOutcome::kRequeued);
  EXPECT_TRUE(this->MustConsume(kQ, Take(1)).empty());
  this->env_.Advance(seconds(6));
  auto again = this->MustConsume(kQ, Take(1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].delivery_count, 2);
}

TYPED_TEST_P(BrokerOrderingContractTest, MessageIdMakesRepublishANoOp) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "one", {.message_id = "r1"}).ok());
  ASSERT_TRUE(b.Publish(kQ, "two", {.message_id = "r1"}).ok());
  ASSERT_TRUE(b.Publish(kQ, "other", {.message_id = "r2"}).ok());
  EXPECT_EQ(*b.Depth(kQ), 2);
  auto got = this->MustConsume(kQ, Take(10));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "one");
  for (const Delivery& d : got) ASSERT_TRUE(b.Ack(d).ok());
  ASSERT_TRUE(b.Publish(kQ, "three", {.message_id = "r1"}).ok());  // acked ids may come back
  EXPECT_EQ(*b.Depth(kQ), 1);
}

TYPED_TEST_P(BrokerContractTest, RejectsBadArguments) {
  Broker& b = this->broker();
  EXPECT_EQ(b.Publish("", "x", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Publish("has space", "x", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Publish("q.dlq", "x", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Publish("q", "x", {.tokens = -1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Consume("q", Take(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Consume("q", Take(1, milliseconds(0))).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Consume("q.dlq", Take(1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Stats("bad name").status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(BrokerContractTest, PublishBatchAnswersEachMessageInOrder) {
  Broker& b = this->broker();
  const std::string q(kQ);
  const std::string other = "inference_requests.other";
  std::vector<OutgoingMessage> batch = {
      {q, "a", {.message_id = "id-a", .model = "tiny", .tokens = 3}},
      {"bad name", "x", {}},
      {other, "o", {}},
      {q, "b", {.tokens = 4}},
      {DeadLetterQueueName(q), "d", {}},
      {q, "c", {.tokens = -1}},
  };
  for (int i = 0; i < 50; ++i) batch.push_back({q, "n" + std::to_string(i), {}});
  std::vector<Status> results = b.PublishBatch(batch);
  ASSERT_EQ(results.size(), batch.size());
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_EQ(results[1].code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(results[2].ok()) << results[2].ToString();
  EXPECT_TRUE(results[3].ok()) << results[3].ToString();
  EXPECT_EQ(results[4].code(), StatusCode::kInvalidArgument);  // a dead-letter queue
  EXPECT_EQ(results[5].code(), StatusCode::kInvalidArgument);  // negative tokens
  for (size_t i = 6; i < results.size(); ++i) EXPECT_TRUE(results[i].ok()) << i;
  EXPECT_EQ(*b.Depth(kQ), 52);
  EXPECT_EQ(*b.Depth(other), 1);

  auto got = this->MustConsume(kQ, Take(100));
  ASSERT_EQ(got.size(), 52u);
  EXPECT_EQ(got[0].payload, "a");
  EXPECT_EQ(got[0].meta.message_id, "id-a");
  EXPECT_EQ(got[0].meta.model, "tiny");
  EXPECT_EQ(got[0].meta.tokens, 3);
  EXPECT_EQ(got[1].payload, "b");
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[2 + i].payload, "n" + std::to_string(i));
  auto o = this->MustConsume(other, Take(10));
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].payload, "o");
  EXPECT_TRUE(b.PublishBatch({}).empty());
}

TYPED_TEST_P(BrokerContractTest, BlockedConsumerWakesOnPublish) {
  Broker& b = this->broker();
  std::vector<Delivery> got;
  Status st;
  std::thread consumer([&] {
    ConsumeOptions o = Take(1);
    o.wait = std::chrono::minutes(2);  // a broken wake-up fails the test by hanging here
    auto r = b.Consume(kQ, o);
    st = r.status();
    if (r.ok()) got = *r;
  });
  // Give the consumer time to block (not needed for correctness: it then finds it at once).
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(b.Publish(kQ, "wake", {}).ok());
  consumer.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "wake");
}

TYPED_TEST_P(BrokerContractTest, ShutdownReleasesBlockedConsumers) {
  Broker& b = this->broker();
  std::atomic<bool> returned{false};
  std::thread consumer([&] {
    ConsumeOptions o = Take(1);
    o.wait = std::chrono::minutes(2);
    auto r = b.Consume(kQ, o);
    EXPECT_TRUE(r.ok() && r->empty());
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  b.Shutdown();
  consumer.join();
  EXPECT_TRUE(returned.load());
}

TYPED_TEST_P(BrokerContractTest, ConcurrentConsumersGetEachMessageOnce) {
  Broker& b = this->broker();
  constexpr int kMessages = 400;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(b.Publish(kQ, std::to_string(i), {}).ok());
  }
  std::mutex mu;
  std::multiset<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (true) {
        auto got = b.Consume(kQ, Take(7));
        if (!got.ok() || got->empty()) return;
        for (const Delivery& d : *got) {
          EXPECT_TRUE(b.Ack(d).ok());
          std::lock_guard lock(mu);
          seen.insert(d.payload);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(seen.count(std::to_string(i)), 1u);
}

TYPED_TEST_P(BrokerLeaseContractTest, ReleaseAllLeasesMakesLeasedMessagesVisible) {
  Broker& b = this->broker();
  ASSERT_TRUE(b.Publish(kQ, "m", {}).ok());
  ASSERT_EQ(this->MustConsume(kQ, Take(1, std::chrono::hours(1))).size(), 1u);
  if constexpr (TypeParam::kDurable) this->env_.Restart();  // the holder died
  Broker& after = this->broker();
  EXPECT_TRUE(this->MustConsume(kQ, Take(1)).empty());
  ASSERT_TRUE(after.ReleaseAllLeases().ok());
  auto got = this->MustConsume(kQ, Take(1));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delivery_count, 2);
}

REGISTER_TYPED_TEST_SUITE_P(BrokerContractTest, DeliversFifoAndAckRemoves,
                            DeadLettersAfterMaxDeliveriesAndTellsTheConsumer,
                            NackWithoutRequeueDeadLettersAtOnce, RejectsBadArguments,
                            PublishBatchAnswersEachMessageInOrder,
                            BlockedConsumerWakesOnPublish, ShutdownReleasesBlockedConsumers,
                            ConcurrentConsumersGetEachMessageOnce,
                            PublishAndAckPublishesTheResultAndAcksTheRequest);
REGISTER_TYPED_TEST_SUITE_P(BrokerLeaseContractTest, ExpiredLeaseRedeliversAndTheOldLeaseIsStale,
                            ExtendLeaseKeepsAMessageFromRedelivery,
                            CrashLoopingMessageDeadLettersThroughLeaseExpiry,
                            NackWithDelayHidesTheMessageUntilThen,
                            ReleaseAllLeasesMakesLeasedMessagesVisible);
REGISTER_TYPED_TEST_SUITE_P(BrokerOrderingContractTest, DeliversByPriorityThenFifoAndAckRemoves,
                            MessageIdMakesRepublishANoOp);

}  // namespace inferline::queue::contract
