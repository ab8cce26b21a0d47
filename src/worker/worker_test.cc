// The Worker over the embedded seams with a scripted backend: what it publishes (events and
// results), what it acks, and how it handles deadlines, cancels, poison messages, failures,
// concurrency and Stop. The collector's side is in collector/pipeline_test.cc.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "protocol/event_data.h"
#include "queue/testing/forwarding_broker.h"
#include "store/testing/outage_store.h"
#include "worker/testing/embedded_seams.h"
#include "worker/testing/fake_backend.h"

namespace inferline::worker {
namespace {

using namespace std::chrono_literals;
using store::testing::OutageStore;
using testing::EmbeddedSeams;
using testing::EventLog;
using testing::FakeBackend;
using testing::FakeScript;
using testing::WaitFor;

constexpr char kModel[] = "fake-model";

// The embedded broker, with publishing to the results queue failing (Unavailable, as while
// RabbitMQ restarts) while `down` is set.
class ResultsOutageBroker : public queue::testing::ForwardingBroker {
 public:
  using ForwardingBroker::ForwardingBroker;
  std::atomic<bool> down{false};
  std::atomic<int> failed_publishes{0};

  Status Publish(std::string_view queue, std::string_view payload,
                 const queue::MessageMeta& meta) override {
    if (down && queue == queue::kResultsQueue) {
      ++failed_publishes;
      return Unavailable("the broker is restarting (test)");
    }
    return ForwardingBroker::Publish(queue, payload, meta);
  }
};


class WorkerTest : public ::testing::Test {
 protected:
  WorkerOptions Options() {
    WorkerOptions o;
    o.model = kModel;
    o.worker_id = "w-test";
    o.consume_wait = 50ms;
    o.cancel_poll_interval = 50ms;
    o.retry_delay = 50ms;
    o.stop_grace = 5s;
    o.registry = &registry_;
    return o;
  }
  void StartWorker(int slots = 4, WorkerOptions o = {}) {
    if (o.model.empty()) o = Options();
    backend_ = std::make_shared<FakeBackend>(slots);
    backend_->SetDefaultScript(script_);
    worker_ = std::make_unique<Worker>(*seams_.broker, *seams_.store, seams_.bus, backend_, o);
    ASSERT_TRUE(worker_->Start().ok());
  }
  protocol::RequestMessage Accept(const std::string& id, int max_tokens = 8) {
    auto m = EmbeddedSeams::Message(id, kModel, {5, 6, 7}, max_tokens);
    seams_.Accept(m);
    return m;
  }
  // Takes `n` results off the results queue (acking them), waiting for them to arrive.
  std::vector<protocol::ResultMessage> TakeResults(size_t n) {
    std::vector<protocol::ResultMessage> out;
    auto until = std::chrono::steady_clock::now() + 20s;
    while (out.size() < n && std::chrono::steady_clock::now() < until) {
      auto got = seams_.broker->Consume(queue::kResultsQueue,
                                        {static_cast<int>(n - out.size()), 60s, 200ms});
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok()) break;
      for (auto& d : *got) {
        auto r = protocol::ParseResultMessage(d.payload);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (r.ok()) out.push_back(*r);
        EXPECT_TRUE(seams_.broker->Ack(d).ok());
      }
    }
    return out;
  }
  queue::QueueStats Stats(const std::string& queue) {
    auto s = seams_.broker->Stats(queue);
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : queue::QueueStats{};
  }
  double Counter(const std::string& status) {
    return registry_.AddCounter("inferline_worker_requests_total", "", {"model", "status"})
        .With({kModel, status})
        .Value();
  }

  EmbeddedSeams seams_;
  metrics::Registry registry_;
  FakeScript script_;
  std::shared_ptr<FakeBackend> backend_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, RunsARequestStreamsTokensAndPublishesTheResultBeforeAcking) {
  EventLog log(seams_.bus, "r1");
  Accept("r1");
  StartWorker();
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  const protocol::ResultMessage& r = results[0];
  EXPECT_EQ(r.request_id, "r1");
  EXPECT_EQ(r.user_id, "user-1");
  EXPECT_EQ(r.status, protocol::FinalStatus::kCompleted);
  EXPECT_EQ(r.output_text, "In the beginning");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.prompt_tokens, 3);
  EXPECT_EQ(r.usage.completion_tokens, 3);
  EXPECT_EQ(r.worker_id, "w-test");
  ASSERT_TRUE(WaitFor([&] { return Stats(queue::RequestQueueName(kModel)).leased == 0; }));
  EXPECT_EQ(Stats(queue::RequestQueueName(kModel)).ready, 0);

  // The worker publishes queued?/started/token; the terminal event is the collector's.
  auto events = log.events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].type, events::EventType::kQueued);
  EXPECT_EQ(events[1].type, events::EventType::kStarted);
  auto started = protocol::ParseStartedEventData(events[1].data);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->worker_id, "w-test");
  EXPECT_EQ(started->attempt, 1);
  std::string text;
  int64_t last_index = -1;
  for (size_t i = 2; i < events.size(); ++i) {
    ASSERT_EQ(events[i].type, events::EventType::kToken);
    auto t = protocol::ParseTokenEventData(events[i].data);
    ASSERT_TRUE(t.ok());
    EXPECT_GT(t->index, last_index);
    last_index = t->index;
    text += t->text;
  }
  EXPECT_EQ(text, "In the beginning");

  store::RequestRecord rec = seams_.Record("r1");
  EXPECT_EQ(rec.status, store::RequestStatus::kRunning);  // until the collector finalizes it
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_EQ(rec.worker_id, "w-test");
  EXPECT_TRUE(WaitFor([&] { return Counter("completed") == 1; }));
  EXPECT_EQ(registry_.AddCounter("ml_tokens_processed_total", "", {"type", "model"})
                .With({"completion", kModel})
                .Value(),
            3);  // counted before the result was published
}

// Tokens nobody follows live are held back (no lane wake-up per token) and published with the
// next token someone follows, or before the result: the history keeps every piece, in order.
TEST_F(WorkerTest, TokensNobodyFollowsAreHeldBackAndPublishedTogether) {
  auto token_texts = [&](const std::string& id) {
    std::vector<std::string> out;
    auto sub = seams_.bus.Subscribe(id, 0, [&](const events::Event& e) {
      if (e.type == events::EventType::kToken) {
        out.push_back(protocol::ParseTokenEventData(e.data)->text);
      }
    });
    EXPECT_TRUE(sub.ok());
    return out;  // the replay ran inside Subscribe; the subscription ends here
  };
  script_.hold = true;
  Accept("quiet");
  StartWorker();
  ASSERT_TRUE(backend_->WaitForActive(1));
  backend_->Release(1);  // "In", with nobody following
  ASSERT_TRUE(backend_->WaitForPlayed(1));
  ASSERT_TRUE(WaitFor([&] { return seams_.Record("quiet").status == store::RequestStatus::kRunning; }));
  std::this_thread::sleep_for(100ms);  // time for a flush, had one been posted
  EXPECT_TRUE(token_texts("quiet").empty()) << "a token nobody follows was published at once";

  EventLog follower(seams_.bus, "quiet");
  backend_->Release(1);  // " the": now followed, so it goes out with what was held back
  ASSERT_TRUE(backend_->WaitForPlayed(2));
  ASSERT_TRUE(WaitFor([&] { return follower.Count(events::EventType::kToken) >= 1; }));
  std::vector<events::Event> seen = follower.events();
  std::string live;
  for (const auto& e : seen) {
    if (e.type == events::EventType::kToken) live += protocol::ParseTokenEventData(e.data)->text;
  }
  EXPECT_EQ(live, "In the");
  backend_->ReleaseAll();
  ASSERT_EQ(TakeResults(1).size(), 1u);
  std::vector<std::string> all = token_texts("quiet");
  std::string joined;
  for (const auto& t : all) joined += t;
  EXPECT_EQ(joined, "In the beginning");
  EXPECT_EQ(all.size(), 2u) << "held-back pieces are coalesced into the next published event";
}

// Nobody ever follows: every piece is held until the result, then published as one event
// ahead of it.
TEST_F(WorkerTest, TokensNobodyEverFollowsArePublishedOnceBeforeTheResult) {
  Accept("unwatched");
  StartWorker();
  ASSERT_EQ(TakeResults(1).size(), 1u);
  std::vector<events::Event> history;
  auto sub = seams_.bus.Subscribe("unwatched", 0,
                                  [&](const events::Event& e) { history.push_back(e); });
  ASSERT_TRUE(sub.ok());
  sub->subscription.Reset();
  std::vector<std::string> tokens;
  for (const auto& e : history) {
    if (e.type == events::EventType::kToken) {
      tokens.push_back(protocol::ParseTokenEventData(e.data)->text);
    }
  }
  ASSERT_EQ(tokens.size(), 1u) << "three pieces nobody followed make one event";
  EXPECT_EQ(tokens[0], "In the beginning");
}

// A long generation nobody follows still goes out in several events, not as one event at the
// end, which the bus would refuse (over its 1 MiB limit) and the text would be lost.
TEST_F(WorkerTest, HeldBackTextIsPublishedOnceItGrowsLarge) {
  script_.pieces.assign(300, std::string(4096, 'a'));  // 1.2 MiB in all
  Accept("long", 400);
  StartWorker();
  ASSERT_EQ(TakeResults(1).size(), 1u);
  size_t events_seen = 0, largest = 0, total = 0;
  auto sub = seams_.bus.Subscribe("long", 0, [&](const events::Event& e) {
    if (e.type != events::EventType::kToken) return;
    const std::string text = protocol::ParseTokenEventData(e.data)->text;
    ++events_seen;
    largest = std::max(largest, text.size());
    total += text.size();
  });
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(total, 300u * 4096u) << "held-back text was lost";
  EXPECT_GE(events_seen, 2u);
  EXPECT_LE(largest, Worker::kHeldTextLimit + 4096u);
}

TEST_F(WorkerTest, AResultRecordedInProcessSkipsTheResultsQueueAndAcks) {
  std::mutex mu;
  std::vector<protocol::ResultMessage> recorded;
  WorkerOptions o = Options();
  o.record_result = [&](const protocol::ResultMessage& r) {
    std::lock_guard lock(mu);
    recorded.push_back(r);
    return Status::Ok();
  };
  Accept("r1");
  StartWorker(4, o);
  ASSERT_TRUE(WaitFor([&] {
    queue::QueueStats s = Stats(queue::RequestQueueName(kModel));
    return s.ready + s.leased == 0;
  }));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0].request_id, "r1");
    EXPECT_EQ(recorded[0].output_text, "In the beginning");
  }
  queue::QueueStats results = Stats(std::string(queue::kResultsQueue));
  EXPECT_EQ(results.ready + results.leased, 0);
  EXPECT_TRUE(WaitFor([&] { return Counter("completed") == 1; }));
}

TEST_F(WorkerTest, AResultThatCannotBeRecordedInProcessGoesToTheResultsQueue) {
  std::atomic<int> tries{0};
  WorkerOptions o = Options();
  o.record_result = [&](const protocol::ResultMessage&) {
    ++tries;
    return Unavailable("the store is down (test)");
  };
  Accept("r1");
  StartWorker(4, o);
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].request_id, "r1");
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCompleted);
  EXPECT_EQ(tries.load(), 1);
  ASSERT_TRUE(WaitFor([&] { return Stats(queue::RequestQueueName(kModel)).leased == 0; }));
  EXPECT_EQ(Stats(queue::RequestQueueName(kModel)).ready, 0);
}

TEST_F(WorkerTest, ARequestPastItsDeadlineExpiresWithoutRunning) {
  auto m = EmbeddedSeams::Message("late", kModel, {1, 2}, 4);
  m.deadline_ms = m.created_at_ms - 1;
  seams_.Accept(m);
  StartWorker();
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kExpired);
  EXPECT_EQ(results[0].error_code, "deadline_exceeded");
  EXPECT_EQ(results[0].usage.total(), 0);
  EXPECT_EQ(backend_->submitted(), 0);
  EXPECT_TRUE(WaitFor([&] { return Counter("expired") == 1; }));
}

TEST_F(WorkerTest, ARequestCancelledWhileQueuedIsDroppedAndAcked) {
  Accept("gone");
  ASSERT_TRUE(seams_.store->CancelRequest("gone", std::chrono::system_clock::now()).ok());
  Accept("kept");
  StartWorker();
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].request_id, "kept");
  EXPECT_EQ(backend_->submitted_ids(), std::vector<std::string>{"kept"});
  EXPECT_TRUE(WaitFor([&] { return Counter("dropped") == 1; }));
  ASSERT_TRUE(WaitFor([&] {
    auto s = Stats(queue::RequestQueueName(kModel));
    return s.ready == 0 && s.leased == 0;
  }));
}

TEST_F(WorkerTest, APoisonMessageIsDeadLetteredAndReportedFailed) {
  ASSERT_TRUE(seams_.broker
                  ->Publish(queue::RequestQueueName(kModel), "{not json",
                            {"poison-1", kModel, 0, 0})
                  .ok());
  StartWorker();
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].request_id, "poison-1");
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kFailed);
  EXPECT_EQ(results[0].error_code, "poison_message");
  EXPECT_EQ(Stats(queue::DeadLetterQueueName(queue::RequestQueueName(kModel))).dead, 1);
  EXPECT_EQ(backend_->submitted(), 0);
}

TEST_F(WorkerTest, BackendFailuresBecomeFailedResults) {
  FakeScript midway;
  midway.error = Internal("kernel exploded");
  midway.fail_after = 2;
  FakeScript refused;
  refused.submit_error = InvalidArgument("prompt too long for the context", "max_tokens");
  StartWorker();
  backend_->SetScript("midway", midway);
  backend_->SetScript("refused", refused);
  Accept("midway");
  Accept("refused");
  auto results = TakeResults(2);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, protocol::FinalStatus::kFailed) << r.request_id;
    if (r.request_id == "midway") {
      EXPECT_EQ(r.error_code, "backend_error");
      EXPECT_EQ(r.error_message, "kernel exploded");
      EXPECT_EQ(r.usage.completion_tokens, 2);  // what it consumed before failing
    } else {
      EXPECT_EQ(r.error_code, "invalid_request");
      EXPECT_EQ(r.usage.total(), 0);
    }
  }
  EXPECT_TRUE(WaitFor([&] { return Counter("failed") == 2; }));
}

TEST_F(WorkerTest, KeepsUpToFreeSlotsRequestsInFlight) {
  script_.hold = true;
  StartWorker(/*slots=*/4);
  for (int i = 0; i < 6; ++i) Accept("c" + std::to_string(i));
  ASSERT_TRUE(backend_->WaitForActive(4));
  EXPECT_TRUE(WaitFor([&] { return worker_->in_flight() == 4; }));
  // The rest wait in the queue, where another worker could take them.
  EXPECT_EQ(Stats(queue::RequestQueueName(kModel)).ready, 2);
  EXPECT_EQ(backend_->submitted(), 4);
  backend_->ReleaseAll();
  auto results = TakeResults(6);
  EXPECT_EQ(results.size(), 6u);
  EXPECT_EQ(backend_->max_active(), 4);
  EXPECT_EQ(backend_->submitted(), 6);
}

TEST_F(WorkerTest, ACancelEventStopsTheGenerationAndReportsWhatItConsumed) {
  script_.hold = true;
  script_.pieces = {"a", "b", "c", "d", "e", "f"};
  EventLog log(seams_.bus, "r");
  Accept("r");
  StartWorker();
  backend_->Release(2);
  ASSERT_TRUE(WaitFor([&] { return log.Count(events::EventType::kToken) >= 1; }));
  ASSERT_TRUE(WaitFor([&] {
    std::string text;
    for (auto& e : log.events()) {
      if (e.type == events::EventType::kToken) text += protocol::ParseTokenEventData(e.data)->text;
    }
    return text == "ab";
  }));
  // The gateway's DELETE: cancel the record, end the stream.
  ASSERT_TRUE(seams_.store->CancelRequest("r", std::chrono::system_clock::now()).ok());
  ASSERT_TRUE(seams_.bus.Publish("r", events::EventType::kCancelled, "{}").ok());
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCancelled);
  EXPECT_EQ(results[0].finish_reason, "cancelled");
  EXPECT_EQ(results[0].usage.prompt_tokens, 3);
  EXPECT_EQ(results[0].usage.completion_tokens, 2);
  EXPECT_EQ(backend_->cancels(), 1);
}

TEST_F(WorkerTest, ACancelSeenOnlyInTheStoreStopsTheGenerationToo) {
  script_.hold = true;
  Accept("quiet");
  StartWorker();
  ASSERT_TRUE(backend_->WaitForActive(1));
  // No event: e.g. the gateway died between the store and the bus.
  ASSERT_TRUE(seams_.store->CancelRequest("quiet", std::chrono::system_clock::now()).ok());
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCancelled);
  EXPECT_EQ(results[0].usage.completion_tokens, 0);
}

TEST_F(WorkerTest, ADirectCancelStopsTheGeneration) {
  script_.hold = true;
  Accept("direct");
  StartWorker();
  ASSERT_TRUE(backend_->WaitForActive(1));
  EXPECT_FALSE(worker_->Cancel("unknown"));
  EXPECT_TRUE(worker_->Cancel("direct"));
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCancelled);
  EXPECT_EQ(backend_->cancels(), 1);
}

TEST_F(WorkerTest, StopGivesUnfinishedRequestsBackToTheQueue) {
  script_.hold = true;
  WorkerOptions o = Options();
  o.stop_grace = 100ms;
  StartWorker(2, o);
  Accept("s1");
  ASSERT_TRUE(backend_->WaitForActive(1));
  worker_->Stop();
  EXPECT_EQ(worker_->in_flight(), 0);
  EXPECT_EQ(backend_->cancels(), 1);
  auto s = Stats(queue::RequestQueueName(kModel));
  EXPECT_EQ(s.ready, 1);
  EXPECT_EQ(s.leased, 0);
  EXPECT_EQ(Stats(std::string(queue::kResultsQueue)).ready, 0);
  EXPECT_EQ(Counter("requeued"), 1);

  // The next worker runs it to the end.
  script_.hold = false;
  StartWorker();
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCompleted);
}

TEST_F(WorkerTest, ExtendsTheLeaseOfALongGeneration) {
  script_.hold = true;
  WorkerOptions o = Options();
  o.visibility_timeout = 900ms;  // extended every 300 ms
  StartWorker(2, o);
  Accept("long");
  ASSERT_TRUE(backend_->WaitForActive(1));
  std::this_thread::sleep_for(2500ms);  // well past the first lease
  auto s = Stats(queue::RequestQueueName(kModel));
  EXPECT_EQ(s.leased, 1);
  EXPECT_EQ(s.ready, 0);
  backend_->ReleaseAll();
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(backend_->submitted(), 1);
}

TEST_F(WorkerTest, AStoreOutageHoldsTheDeliveryInsteadOfSpendingItsDeliveries) {
  // Every give-back would count a delivery (3 allowed): an outage of a few seconds must not
  // dead-letter an accepted request. The worker keeps the delivery, extends its lease and
  // retries until the store answers.
  OutageStore store(*seams_.store);
  store.down = true;
  WorkerOptions o = Options();
  o.visibility_timeout = 600ms;  // the outage outlasts several leases
  backend_ = std::make_shared<FakeBackend>(2);
  backend_->SetDefaultScript(script_);
  worker_ = std::make_unique<Worker>(*seams_.broker, store, seams_.bus, backend_, o);
  ASSERT_TRUE(worker_->Start().ok());
  Accept("during-outage");
  ASSERT_TRUE(WaitFor([&] { return store.mark_running_calls >= 1; }));
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(backend_->submitted(), 0);
  auto s = Stats(queue::RequestQueueName(kModel));
  EXPECT_EQ(s.leased, 1) << "the worker holds the delivery";
  EXPECT_EQ(s.dead, 0);
  EXPECT_GE(store.mark_running_calls.load(), 4) << "retried with backoff";
  store.down = false;
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCompleted);
  EXPECT_EQ(Counter("requeued"), 0) << "never given back, however long the outage";
  EXPECT_EQ(Stats(queue::DeadLetterQueueName(queue::RequestQueueName(kModel))).dead, 0);
  EXPECT_EQ(backend_->submitted(), 1);
}

TEST_F(WorkerTest, AStoreOutageLongerThanTheHoldGivesTheRequestBack) {
  OutageStore store(*seams_.store);
  store.down = true;
  WorkerOptions o = Options();
  o.outage_hold = 300ms;
  o.retry_delay = 10s;  // given back, it stays invisible long enough to be seen as ready later
  backend_ = std::make_shared<FakeBackend>(2);
  backend_->SetDefaultScript(script_);
  worker_ = std::make_unique<Worker>(*seams_.broker, store, seams_.bus, backend_, o);
  ASSERT_TRUE(worker_->Start().ok());
  Accept("long-outage");
  // The worker counts the give-back just after the broker took it: wait for both.
  ASSERT_TRUE(WaitFor([&] {
    auto s = Stats(queue::RequestQueueName(kModel));
    return s.leased == 0 && store.mark_running_calls >= 2 && Counter("requeued") >= 1;
  }));
  EXPECT_EQ(Counter("requeued"), 1);
  EXPECT_EQ(backend_->submitted(), 0);
}

TEST_F(WorkerTest, ABrokerOutageKeepsTheResultUntilItCanBePublished) {
  // A result that cannot be published was thrown away (the request ran again, spending a
  // delivery). Now the worker keeps it and publishes it once the broker is back.
  ResultsOutageBroker broker(*seams_.broker);
  broker.down = true;
  backend_ = std::make_shared<FakeBackend>(2);
  backend_->SetDefaultScript(script_);
  worker_ = std::make_unique<Worker>(broker, *seams_.store, seams_.bus, backend_, Options());
  ASSERT_TRUE(worker_->Start().ok());
  Accept("during-restart");
  ASSERT_TRUE(WaitFor([&] { return broker.failed_publishes >= 3; }));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(Counter("requeued"), 0);
  broker.down = false;
  auto results = TakeResults(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].request_id, "during-restart");
  EXPECT_EQ(results[0].status, protocol::FinalStatus::kCompleted);
  EXPECT_EQ(backend_->submitted(), 1) << "generated once";
  EXPECT_TRUE(WaitFor([&] {
    auto s = Stats(queue::RequestQueueName(kModel));
    return s.ready == 0 && s.leased == 0;
  })) << "the request message was acked";
}

TEST_F(WorkerTest, RejectsAModelNameThatMakesNoQueue) {
  WorkerOptions o = Options();
  o.model = "bad model name";
  Worker w(*seams_.broker, *seams_.store, seams_.bus, std::make_shared<FakeBackend>(1), o);
  Status st = w.Start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
}

}  // namespace
}  // namespace inferline::worker
