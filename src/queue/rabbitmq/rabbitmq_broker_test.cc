// Integration tests of RabbitMqBroker against the suite's real RabbitMQ node (ctest fixture
// rabbitmq_server). Each test uses its own queue prefix, so tests never see each other's queues.
#include "queue/rabbitmq/rabbitmq_broker.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "queue/broker_contract_test.h"
#include "queue/rabbitmq/testing/rabbitmq_server.h"

namespace inferline::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::RabbitMqServer;

const std::string& ServerUrl() {
  static const std::string url = [] {
    auto server = RabbitMqServer::FromEnvironment();
    if (!server.ok()) {
      std::fprintf(stderr, "no RabbitMQ for this test: %s\n", server.status().ToString().c_str());
      std::abort();
    }
    return (*server)->url();
  }();
  return url;
}

RabbitMqOptions TestOptions() {
  static std::atomic<int> counter{0};
  RabbitMqOptions o;
  o.url = ServerUrl();
  o.max_deliveries = 3;
  o.queue_prefix = fmt::format("t{}_{}.", ::getpid(), counter++);
  o.models = {"tiny"};
  return o;
}

std::shared_ptr<RabbitMqBroker> MustCreate(const RabbitMqOptions& o) {
  auto b = RabbitMqBroker::Create(o);
  if (!b.ok()) {
    std::fprintf(stderr, "RabbitMqBroker::Create: %s\n", b.status().ToString().c_str());
    std::abort();
  }
  return *b;
}

class RabbitEnv {
 public:
  RabbitEnv() : broker_(MustCreate(TestOptions())) {}
  std::shared_ptr<Broker> broker() { return broker_; }

 private:
  std::shared_ptr<RabbitMqBroker> broker_;
};

}  // namespace

namespace contract {
// Only the core suite. Left out, because RabbitMQ has no such thing:
// - BrokerLeaseContractTest: no visibility timeout and no injectable clock; a delivery is held
//   until ack, nack or its channel closes (see rabbitmq_broker.h). The RabbitMQ equivalents
//   (redelivery after a consumer dies, delayed nack, stale deliveries after a reconnect) are
//   tested below and in rabbitmq_restart_test.cc against real time.
// - BrokerOrderingContractTest: quorum queues in RabbitMQ 3.10 have no priorities, backlog
//   tokens cannot be summed by RabbitMQ, and message ids do not deduplicate.
INSTANTIATE_TYPED_TEST_SUITE_P(RabbitMq, BrokerContractTest, ::testing::Types<RabbitEnv>);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BrokerLeaseContractTest);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BrokerOrderingContractTest);
}  // namespace contract

namespace {

using contract::kQ;
using contract::Take;

ConsumeOptions Wait(int n, milliseconds wait) {
  ConsumeOptions o = Take(n);
  o.wait = wait;
  return o;
}

TEST(RabbitMqBroker, TopologyDeclaresIdempotentlyAndRefusesOtherArguments) {
  RabbitMqOptions o = TestOptions();
  auto first = MustCreate(o);
  ASSERT_TRUE(first->Publish(kQ, "kept", {}).ok());
  auto second = RabbitMqBroker::Create(o);  // declares the same topology again
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*(*second)->Depth(kQ), 1);  // the queue and its message survived the redeclare
  o.max_length = 7;
  auto other = RabbitMqBroker::Create(o);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("x-max-length"), std::string::npos)
      << other.status().message();
}

TEST(RabbitMqBroker, BadUrlAndUnreachableServerFailClearly) {
  RabbitMqOptions o = TestOptions();
  o.url = "http://nope";
  EXPECT_EQ(RabbitMqBroker::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.url = "amqp://guest:guest@127.0.0.1:1/";
  auto b = RabbitMqBroker::Create(o);
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(b.status().message().find("127.0.0.1:1"), std::string::npos);
  o.url = ServerUrl();
  o.url.replace(o.url.find("guest:guest"), 11, "guest:wrong");
  EXPECT_EQ(RabbitMqBroker::Create(o).status().code(), StatusCode::kUnavailable);
}

// A quorum queue checks x-max-length after an enqueue: it admits the message that crosses the
// limit, then rejects publishes (basic.nack) until it is back to 80% of the limit, and tells the
// publishing channel so asynchronously.
TEST(RabbitMqBroker, FullQueueRejectsPublishWithResourceExhausted) {
  RabbitMqOptions o = TestOptions();
  o.max_length = 5;
  auto b = MustCreate(o);
  int accepted = 0;
  Status full;
  for (int i = 0; i < 50 && full.ok(); ++i) {
    full = b->Publish(kQ, std::to_string(i), {});
    accepted += full.ok();
  }
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full.ToString();
  EXPECT_NE(full.message().find("full"), std::string::npos) << full.message();
  EXPECT_GE(accepted, 5);
  EXPECT_LE(accepted, 6);
  EXPECT_EQ(*b->Depth(kQ), accepted);
  auto got = b->Consume(kQ, Take(100));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), static_cast<size_t>(accepted));
  for (const Delivery& d : *got) ASSERT_TRUE(b->Ack(d).ok());
  Status again;
  auto until = std::chrono::steady_clock::now() + seconds(30);
  do {
    again = b->Publish(kQ, "room again", {});
    if (!again.ok()) std::this_thread::sleep_for(milliseconds(100));
  } while (!again.ok() && std::chrono::steady_clock::now() < until);
  EXPECT_TRUE(again.ok()) << again.ToString();
}

// PublishBatch into a queue at its limit: RabbitMQ refuses (basic.nack) the messages the channel
// handles after the queue reported itself full, and only those; a second queue in the same
// batch takes all of its messages. Exactly the messages answered ok are in the queues, in batch
// order. (The queue tells the channel asynchronously, so messages already in flight when it
// crosses the limit are admitted: a batch sent at once into an empty queue of max-length 5 may
// be taken whole. The first step checks only that what was confirmed is exactly what is there.)
TEST(RabbitMqBroker, PublishBatchIntoAFullQueueReportsExactlyWhatWasConfirmed) {
  RabbitMqOptions o = TestOptions();
  o.max_length = 5;
  auto b = MustCreate(o);
  const std::string q(kQ), results_q(kResultsQueue);
  auto make_batch = [&](const std::string& tag, int n) {
    std::vector<OutgoingMessage> batch;
    for (int i = 0; i < n; ++i) {
      std::string id = fmt::format("{}-{}", tag, i);
      batch.push_back({i % 10 == 9 ? results_q : q, id, {.message_id = id}});
    }
    return batch;
  };
  auto drain = [&](const std::string& queue) {
    std::vector<std::string> payloads;
    while (true) {
      auto got = b->Consume(queue, Wait(100, milliseconds(300)));
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || got->empty()) return payloads;
      for (const Delivery& d : *got) {
        payloads.push_back(d.payload);
        EXPECT_TRUE(b->Ack(d).ok());
      }
    }
  };

  // 1. A batch of 270 into the work queue (and 30 into the results queue) from empty: the
  // queue admits at least its limit, and RabbitMQ refuses the rest once the channel knows.
  std::vector<OutgoingMessage> first = make_batch("first", 300);
  std::vector<Status> answers = b->PublishBatch(first);
  ASSERT_EQ(answers.size(), first.size());
  std::vector<std::string> confirmed;
  int refused = 0, results_ok = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i].queue == results_q) {
      EXPECT_TRUE(answers[i].ok()) << answers[i].ToString();
      results_ok += answers[i].ok();
    } else if (answers[i].ok()) {
      confirmed.push_back(first[i].payload);
    } else {
      EXPECT_EQ(answers[i].code(), StatusCode::kResourceExhausted) << answers[i].ToString();
      ++refused;
    }
  }
  std::printf("[ measure  ] batch into a queue of max-length 5: %zu confirmed, %d refused\n",
              confirmed.size(), refused);
  EXPECT_GE(confirmed.size(), 5u);
  EXPECT_EQ(results_ok, 30);
  EXPECT_EQ(*b->Depth(kQ), static_cast<int64_t>(confirmed.size()));
  EXPECT_EQ(drain(results_q).size(), 30u);

  // 2. The queue is now at or over its limit and the channel knows it (the queue told it before
  // confirming the later messages of step 1): every message of the next batch for it is
  // refused, the results queue's, between them, are not.
  std::vector<OutgoingMessage> second = make_batch("second", 40);
  answers = b->PublishBatch(second);
  ASSERT_EQ(answers.size(), second.size());
  for (size_t i = 0; i < second.size(); ++i) {
    if (second[i].queue == results_q) {
      EXPECT_TRUE(answers[i].ok()) << answers[i].ToString();
    } else {
      EXPECT_EQ(answers[i].code(), StatusCode::kResourceExhausted) << i;
    }
  }
  EXPECT_EQ(drain(results_q).size(), 4u);
  EXPECT_EQ(drain(q), confirmed);  // exactly the confirmed messages, in batch order

  // 3. Emptied below 80% of the limit, the queue takes a batch again (RabbitMQ tells the
  // channel asynchronously).
  Status again;
  auto until = std::chrono::steady_clock::now() + seconds(30);
  do {
    std::vector<Status> r = b->PublishBatch(std::vector<OutgoingMessage>{{q, "room again", {}}});
    again = r.at(0);
    if (!again.ok()) std::this_thread::sleep_for(milliseconds(100));
  } while (!again.ok() && std::chrono::steady_clock::now() < until);
  EXPECT_TRUE(again.ok()) << again.ToString();
}

// A worker that dies holding a message returns it to RabbitMQ (its channel closes); after
// max_deliveries such deaths RabbitMQ dead-letters it, and the next consumer of the queue gets
// the notice.
TEST(RabbitMqBroker, PoisonMessageReachesTheDeadLetterQueueAfterTheDeliveryLimit) {
  RabbitMqOptions o = TestOptions();
  auto keeper = MustCreate(o);
  ASSERT_TRUE(keeper->Publish(kQ, "poison", {.message_id = "r-poison", .model = "tiny"}).ok());
  for (int i = 1; i <= o.max_deliveries; ++i) {
    auto worker = MustCreate(o);
    auto got = worker->Consume(kQ, Wait(1, seconds(30)));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 1u);
    EXPECT_FALSE((*got)[0].dead_lettered);
    EXPECT_EQ((*got)[0].delivery_count, i);
    // The worker dies without acking: its connections close with the broker.
  }
  auto worker = MustCreate(o);
  auto notice = worker->Consume(kQ, Wait(1, seconds(30)));
  ASSERT_TRUE(notice.ok());
  ASSERT_EQ(notice->size(), 1u);
  EXPECT_TRUE((*notice)[0].dead_lettered);
  EXPECT_EQ((*notice)[0].meta.message_id, "r-poison");
  EXPECT_EQ((*notice)[0].payload, "poison");
  ASSERT_TRUE(worker->Ack((*notice)[0]).ok());
  EXPECT_EQ(*worker->Depth(DeadLetterQueueName(kQ)), 1);
  EXPECT_EQ(worker->Stats(kQ)->ready, 0);
}

TEST(RabbitMqBroker, NackWithDelayReturnsTheMessageLater) {
  auto b = MustCreate(TestOptions());
  ASSERT_TRUE(b->Publish(kQ, "later", {}).ok());
  auto got = b->Consume(kQ, Take(1));
  ASSERT_TRUE(got.ok() && got->size() == 1u);
  EXPECT_EQ(*b->Nack((*got)[0], true, seconds(3)), NackOutcome::kRequeued);
  EXPECT_EQ(b->Ack((*got)[0]).code(), StatusCode::kFailedPrecondition);  // given back
  EXPECT_EQ(b->Stats(kQ)->leased, 1);  // still held by us during the delay
  auto again = b->Consume(kQ, Wait(1, seconds(30)));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].payload, "later");
  EXPECT_EQ((*again)[0].delivery_count, 2);
}

TEST(RabbitMqBroker, ExtendLeaseAndReleaseAllLeasesAreNoOpsThatCheckTheDelivery) {
  auto b = MustCreate(TestOptions());
  ASSERT_TRUE(b->Publish(kQ, "m", {}).ok());
  auto got = b->Consume(kQ, Take(1));
  ASSERT_TRUE(got.ok() && got->size() == 1u);
  EXPECT_TRUE(b->ExtendLease((*got)[0], seconds(60)).ok());
  EXPECT_TRUE(b->ReleaseAllLeases().ok());
  EXPECT_TRUE(b->Consume(kQ, Take(1))->empty());  // still ours
  ASSERT_TRUE(b->Ack((*got)[0]).ok());
  EXPECT_EQ(b->ExtendLease((*got)[0], seconds(60)).code(), StatusCode::kFailedPrecondition);
}

// Many threads publishing at once share one connection; every caller returns when its own
// message is confirmed, and every confirmed message is delivered exactly once.
TEST(RabbitMqBroker, ConfirmsUnderManyPublishingThreads) {
  auto b = MustCreate(TestOptions());
  constexpr int kThreads = 32;
  constexpr int kPerThread = 150;
  auto publish_all = [&](int threads, int per_thread, const std::string& tag) {
    std::atomic<int> failures{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) {
          std::string id = fmt::format("{}-{}-{}", tag, t, i);
          if (!b->Publish(kQ, id, {.message_id = id}).ok()) ++failures;
        }
      });
    }
    for (auto& th : ts) th.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ measure  ] %d thread(s): %d confirmed publishes in %.3f s = %.0f/s\n", threads,
                threads * per_thread, s, threads * per_thread / s);
    return failures.load();
  };
  EXPECT_EQ(publish_all(1, 600, "single"), 0);
  EXPECT_EQ(publish_all(kThreads, kPerThread, "many"), 0);

  std::map<std::string, int> seen;
  const size_t expected = 600 + kThreads * kPerThread;
  auto start = std::chrono::steady_clock::now();
  // Until every message came, or nothing came for 10 s (a loaded machine pauses for seconds).
  auto quiet_since = std::chrono::steady_clock::now();
  size_t total = 0;
  while (total < expected &&
         std::chrono::steady_clock::now() - quiet_since < std::chrono::seconds(10)) {
    auto got = b->Consume(kQ, Wait(100, milliseconds(500)));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (got->empty()) continue;
    quiet_since = std::chrono::steady_clock::now();
    total += got->size();
    for (const Delivery& d : *got) {
      ++seen[d.payload];
      EXPECT_EQ(d.meta.message_id, d.payload);
      ASSERT_TRUE(b->Ack(d).ok());
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure  ] consume+ack: %zu messages in %.3f s (incl. the final 0.5 s wait)\n",
              seen.size(), s);
  EXPECT_EQ(seen.size(), expected);
  for (auto& [payload, n] : seen) EXPECT_EQ(n, 1) << payload;
}

// The publisher encodes its frames itself (AmqpConnection::QueuePublish) and writes a batch at
// once: bodies larger than a frame (frame_max 131072) are split into several body frames, and
// every byte and property arrives as sent.
TEST(RabbitMqBroker, BatchOfLargeAndBinaryPayloadsArrivesIntact) {
  auto b = MustCreate(TestOptions());
  std::vector<OutgoingMessage> batch;
  for (size_t size : {0u, 1u, 131'064u, 131'065u, 300'000u, 17u, 2'000'000u}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>((i * 131 + size) & 0xff);
    std::string id = fmt::format("m-{}", size);
    MessageMeta meta;
    meta.message_id = id;
    meta.model = "tiny";
    meta.tokens = static_cast<int64_t>(size);
    batch.push_back(OutgoingMessage{std::string(kQ), std::move(payload), std::move(meta)});
  }
  std::vector<Status> results = b->PublishBatch(batch);
  ASSERT_EQ(results.size(), batch.size());
  for (const Status& st : results) ASSERT_TRUE(st.ok()) << st.ToString();

  std::map<std::string, Delivery> got;
  auto quiet_since = std::chrono::steady_clock::now();
  while (got.size() < batch.size() &&
         std::chrono::steady_clock::now() - quiet_since < std::chrono::seconds(10)) {
    auto d = b->Consume(kQ, Wait(10, milliseconds(500)));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    if (d->empty()) continue;
    quiet_since = std::chrono::steady_clock::now();
    for (Delivery& x : *d) {
      ASSERT_TRUE(b->Ack(x).ok());
      got.emplace(x.meta.message_id, std::move(x));
    }
  }
  ASSERT_EQ(got.size(), batch.size());
  for (const OutgoingMessage& m : batch) {
    SCOPED_TRACE(m.meta.message_id);
    const Delivery& d = got.at(m.meta.message_id);
    EXPECT_EQ(d.payload.size(), m.payload.size());
    EXPECT_TRUE(d.payload == m.payload);
    EXPECT_EQ(d.meta.model, "tiny");
    EXPECT_EQ(d.meta.tokens, m.meta.tokens);
    EXPECT_EQ(d.delivery_count, 1);
  }
  // The connection is still in step after the large frames: a plain publish is confirmed.
  EXPECT_TRUE(b->Publish(kQ, "after", {.message_id = "after"}).ok());
}

TEST(RabbitMqBroker, PublishAfterDestructionOfAnotherBrokerStillWorks) {
  RabbitMqOptions o = TestOptions();
  { auto gone = MustCreate(o); }
  auto b = MustCreate(o);
  EXPECT_TRUE(b->Publish(kQ, "x", {}).ok());
  EXPECT_EQ(*b->Depth(kQ), 1);
}

}  // namespace
}  // namespace inferline::queue
