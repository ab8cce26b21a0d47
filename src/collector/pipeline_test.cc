// Worker + collector end to end over the embedded seams (one SQLite database, in-process bus and
// ledger), with a scripted backend: every way a request can end, what it is billed, what
// listeners see, and exactly-once effects across a crash.
#include <gtest/gtest.h>

#include "collector/collector.h"
#include "collector/testing/pipeline_fixture.h"
#include "protocol/event_data.h"
#include "store/testing/outage_store.h"
#include "worker/testing/fake_backend.h"
#include "worker/worker.h"

namespace inferline::collector {
namespace {

using namespace std::chrono_literals;
using worker::testing::EmbeddedSeams;
using worker::testing::EventLog;
using worker::testing::FakeBackend;
using worker::testing::FakeScript;
using worker::testing::WaitFor;

constexpr char kModel[] = "fake";

// Run twice: with the worker's results going through the results queue to the collector's
// consumer (the distributed path), and handed to the collector in process (WorkerOptions::
// record_result, what `inferline serve` does). Every outcome must be the same.
class PipelineTest : public testing::PipelineFixture, public ::testing::WithParamInterface<bool> {
 protected:
  PipelineTest() { backend_ = std::make_shared<FakeBackend>(4); }
  ~PipelineTest() override {
    if (worker_) worker_->Stop();
    if (collector_) collector_->Stop();
  }

  worker::WorkerOptions WorkerOpts() {
    worker::WorkerOptions o;
    o.model = kModel;
    o.worker_id = "w-1";
    o.consume_wait = 50ms;
    o.cancel_poll_interval = 50ms;
    o.retry_delay = 50ms;
    o.registry = &registry_;
    if (GetParam()) {
      o.record_result = [this](const protocol::ResultMessage& r) -> Status {
        if (!collector_) return Unavailable("no collector yet (test)");
        return collector_->Record(r);
      };
    }
    return o;
  }
  void StartAll(worker::WorkerOptions o = {}) {
    if (o.model.empty()) o = WorkerOpts();
    worker_ = std::make_unique<worker::Worker>(*seams_.broker, *seams_.store, seams_.bus,
                                               backend_, o);
    ASSERT_TRUE(worker_->Start().ok());
    if (!collector_) MakeCollector();
    ASSERT_TRUE(collector_->Start().ok());
  }
  protocol::RequestMessage AcceptOne(const std::string& id, int max_tokens = 10) {
    return Accept(EmbeddedSeams::Message(id, kModel, {11, 12, 13}, max_tokens));
  }
  std::string StreamedText(const EventLog& log) {
    std::string text;
    for (const auto& e : log.events()) {
      if (e.type != events::EventType::kToken) continue;
      auto t = protocol::ParseTokenEventData(e.data);
      EXPECT_TRUE(t.ok());
      if (t.ok()) text += t->text;
    }
    return text;
  }

  std::shared_ptr<FakeBackend> backend_;
  std::unique_ptr<worker::Worker> worker_;
};

TEST_P(PipelineTest, AQueuedRequestCompletesWithExactUsageSettledAndOrderedEvents) {
  EventLog log(seams_.bus, "r1");
  AcceptOne("r1");
  EXPECT_EQ(TokensReserved(), 13);
  StartAll();
  ASSERT_TRUE(log.WaitTerminal());

  store::RequestRecord rec = seams_.Record("r1");
  EXPECT_EQ(rec.status, store::RequestStatus::kCompleted);
  EXPECT_EQ(rec.output_text, "In the beginning");
  EXPECT_EQ(rec.finish_reason, "length");
  ASSERT_TRUE(rec.usage.has_value());
  EXPECT_EQ(rec.usage->prompt_tokens, 3);
  EXPECT_EQ(rec.usage->completion_tokens, 3);
  EXPECT_EQ(rec.worker_id, "w-1");
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_EQ(TokensUsed(), 6);
  EXPECT_EQ(TokensReserved(), 0);
  EXPECT_EQ(RequestsUsed(), 1);
  EXPECT_EQ(Billed().requests, 1);
  EXPECT_TRUE(WaitFor([&] { return ResultsCounter("completed") == 1; }));
  EXPECT_TRUE(WaitFor([&] {  // the request's message is acked once the result is recorded
    auto s = seams_.broker->Stats(queue::RequestQueueName(kModel));
    return s.ok() && s->ready + s->leased == 0;
  }));

  auto types = log.types();
  ASSERT_GE(types.size(), 4u);
  EXPECT_EQ(types.front(), "queued");
  EXPECT_EQ(types[1], "started");
  for (size_t i = 2; i + 1 < types.size(); ++i) EXPECT_EQ(types[i], "token") << i;
  EXPECT_EQ(types.back(), "completed");
  EXPECT_EQ(StreamedText(log), "In the beginning");
  auto done = protocol::ParseTerminalEventData(log.events().back().data,
                                               protocol::FinalStatus::kCompleted);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->text, "In the beginning");
  EXPECT_EQ(done->usage.total(), 6);
  // Ids are consecutive: nothing was lost in between.
  auto events = log.events();
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].id, static_cast<int64_t>(i + 1));
}

TEST_P(PipelineTest, ARequestPastItsDeadlineExpiresAndIsRefunded) {
  EventLog log(seams_.bus, "late");
  auto m = EmbeddedSeams::Message("late", kModel, {1, 2}, 30);
  m.deadline_ms = m.created_at_ms - 1000;
  Accept(m);
  StartAll();
  ASSERT_TRUE(log.WaitTerminal());
  EXPECT_EQ(log.types(), (std::vector<std::string>{"queued", "expired"}));
  store::RequestRecord rec = seams_.Record("late");
  EXPECT_EQ(rec.status, store::RequestStatus::kExpired);
  EXPECT_EQ(rec.error_code, "deadline_exceeded");
  EXPECT_EQ(backend_->submitted(), 0);
  EXPECT_EQ(TokensUsed(), 0);
  EXPECT_EQ(RequestsUsed(), 0);
  EXPECT_EQ(Outstanding(), 0);
}

TEST_P(PipelineTest, ARequestCancelledWhileQueuedIsDroppedAndRefundedFully) {
  EventLog log(seams_.bus, "gone");
  AcceptOne("gone");
  GatewayCancel("gone");
  AcceptOne("after");  // proves the worker got past it
  EventLog after(seams_.bus, "after");
  StartAll();
  ASSERT_TRUE(after.WaitTerminal());
  EXPECT_EQ(backend_->submitted_ids(), std::vector<std::string>{"after"});
  EXPECT_EQ(log.types(), (std::vector<std::string>{"queued", "cancelled"}));
  EXPECT_EQ(seams_.Record("gone").status, store::RequestStatus::kCancelled);
  EXPECT_FALSE(seams_.Record("gone").usage.has_value());
  EXPECT_EQ(TokensUsed(), 6);  // "after" only
  EXPECT_EQ(RequestsUsed(), 1);
  EXPECT_EQ(Outstanding(), 0);
}

TEST_P(PipelineTest, ARequestCancelledWhileRunningBillsConsumedTokensAndRefundsTheRest) {
  FakeScript s;
  s.pieces = {"a", "b", "c", "d", "e", "f", "g", "h"};
  s.hold = true;
  backend_->SetDefaultScript(s);
  EventLog log(seams_.bus, "r");
  AcceptOne("r", 8);
  StartAll();
  backend_->Release(2);
  ASSERT_TRUE(WaitFor([&] { return StreamedText(log) == "ab"; }));
  GatewayCancel("r");
  ASSERT_TRUE(WaitFor([&] { return Outstanding() == 0; }));

  EXPECT_EQ(backend_->cancels(), 1);
  store::RequestRecord rec = seams_.Record("r");
  EXPECT_EQ(rec.status, store::RequestStatus::kCancelled);
  ASSERT_TRUE(rec.usage.has_value());
  EXPECT_EQ(rec.usage->prompt_tokens, 3);
  EXPECT_EQ(rec.usage->completion_tokens, 2);
  EXPECT_EQ(TokensUsed(), 5);  // of 11 reserved
  EXPECT_EQ(TokensReserved(), 0);
  EXPECT_EQ(Billed().completion_tokens, 2);
  // One terminal event: the gateway's.
  EXPECT_EQ(log.Count(events::EventType::kCancelled), 1);
  EXPECT_EQ(log.Count(events::EventType::kCompleted), 0);
  EXPECT_EQ(log.types().back(), "cancelled");
}

TEST_P(PipelineTest, APoisonMessageEndsFailedWithItsReservationRefunded) {
  EventLog log(seams_.bus, "poison");
  auto m = EmbeddedSeams::Message("poison", kModel, {1, 2, 3}, 10);
  ASSERT_TRUE(ledger_->Reserve({"user-1", "poison", 13, 1}, limits_, Now()).ok());
  store::RequestRecord rec;
  rec.id = "poison";
  rec.user_id = "user-1";
  rec.key_id = "key-1";
  rec.model = kModel;
  rec.input_json = "\"x\"";
  rec.prompt_tokens = 3;
  rec.reserved_tokens = 13;
  rec.created_at = Now();
  store::OutboxMessage out{queue::RequestQueueName(kModel), "{\"schema\": 1, \"request_id\": 7}",
                           {"poison", kModel, 13, 0}};
  ASSERT_TRUE(seams_.store->CreateRequest(rec, out).ok());
  StartAll();
  ASSERT_TRUE(log.WaitTerminal());
  EXPECT_EQ(log.types(), std::vector<std::string>{"failed"});
  store::RequestRecord got = seams_.Record("poison");
  EXPECT_EQ(got.status, store::RequestStatus::kFailed);
  EXPECT_EQ(got.error_code, "poison_message");
  ASSERT_TRUE(WaitFor([&] { return Outstanding() == 0; }));
  EXPECT_EQ(TokensUsed(), 0);
  EXPECT_EQ(RequestsUsed(), 0);
  EXPECT_EQ(backend_->submitted(), 0);
}

TEST_P(PipelineTest, AMessageDeliveredTooOftenEndsFailed) {
  EventLog log(seams_.bus, "crashy");
  AcceptOne("crashy");
  // Three deliveries that never finished (each "crashed" the process).
  for (int i = 0; i < 3; ++i) {
    auto d = seams_.broker->Consume(queue::RequestQueueName(kModel), {1, 1h, 0ms});
    ASSERT_TRUE(d.ok() && d->size() == 1);
    ASSERT_TRUE(seams_.broker->ReleaseAllLeases().ok());
  }
  StartAll();
  ASSERT_TRUE(log.WaitTerminal());
  EXPECT_EQ(log.types().back(), "failed");
  EXPECT_EQ(seams_.Record("crashy").error_code, "max_deliveries_exceeded");
  ASSERT_TRUE(WaitFor([&] { return Outstanding() == 0; }));
  EXPECT_EQ(TokensUsed(), 0);
  EXPECT_EQ(backend_->submitted(), 0);
}

TEST_P(PipelineTest, ACrashBetweenResultAndAckStillFinalizesAndSettlesOnce) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  worker::WorkerOptions o = WorkerOpts();
  o.crash_before_ack = [](std::string_view) { return true; };
  // The first incarnation publishes its result and "dies" before the ack.
  worker_ = std::make_unique<worker::Worker>(*seams_.broker, *seams_.store, seams_.bus, backend_, o);
  ASSERT_TRUE(worker_->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    auto s = seams_.broker->Stats(queue::kResultsQueue);
    return s.ok() && s->ready == 1;
  }));
  worker_->Stop();
  worker_.reset();
  auto requests = seams_.broker->Stats(queue::RequestQueueName(kModel));
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ(requests->leased, 1);  // never acked

  // The restart: leases released, the request runs again, then the collector catches up.
  ASSERT_TRUE(seams_.broker->ReleaseAllLeases().ok());
  worker_ = std::make_unique<worker::Worker>(*seams_.broker, *seams_.store, seams_.bus, backend_,
                                             WorkerOpts());
  ASSERT_TRUE(worker_->Start().ok());
  ASSERT_TRUE(backend_->WaitForSubmitted(2));
  ASSERT_TRUE(WaitFor([&] {
    auto s = seams_.broker->Stats(queue::RequestQueueName(kModel));
    return s.ok() && s->ready + s->leased == 0;
  }));
  MakeCollector();
  ASSERT_TRUE(collector_->Start().ok());
  ASSERT_TRUE(log.WaitTerminal());
  ASSERT_TRUE(WaitFor([&] {
    auto s = seams_.broker->Stats(queue::kResultsQueue);
    return s.ok() && s->ready + s->leased == 0;
  }));
  EXPECT_EQ(seams_.Record("r").status, store::RequestStatus::kCompleted);
  EXPECT_EQ(seams_.Record("r").attempts, 2);
  EXPECT_EQ(TokensUsed(), 6);
  EXPECT_EQ(RequestsUsed(), 1);
  EXPECT_EQ(Billed().requests, 1);
  EXPECT_EQ(Billed().completion_tokens, 3);
  EXPECT_EQ(log.Count(events::EventType::kStarted), 2);  // the restart is visible to listeners
  EXPECT_EQ(log.Count(events::EventType::kCompleted), 1);
}

TEST_P(PipelineTest, ARedeliveryAfterTheCollectorFinishedIsDropped) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  worker::WorkerOptions o = WorkerOpts();
  o.crash_before_ack = [](std::string_view) { return true; };
  StartAll(o);
  ASSERT_TRUE(log.WaitTerminal());
  worker_->Stop();
  ASSERT_TRUE(seams_.broker->ReleaseAllLeases().ok());  // the unacked request comes back
  worker_ = std::make_unique<worker::Worker>(*seams_.broker, *seams_.store, seams_.bus, backend_,
                                             WorkerOpts());
  ASSERT_TRUE(worker_->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    auto s = seams_.broker->Stats(queue::RequestQueueName(kModel));
    return s.ok() && s->ready + s->leased == 0;
  }));
  EXPECT_EQ(backend_->submitted(), 1);  // MarkRunning refused: already completed
  EXPECT_EQ(TokensUsed(), 6);
  EXPECT_EQ(Billed().requests, 1);
  EXPECT_EQ(log.Count(events::EventType::kCompleted), 1);
}

TEST_P(PipelineTest, ConcurrentRequestsShareTheBackendAndAllSettle) {
  backend_ = std::make_shared<FakeBackend>(3);
  FakeScript s;
  s.hold = true;
  backend_->SetDefaultScript(s);
  for (int i = 0; i < 7; ++i) AcceptOne("c" + std::to_string(i));
  StartAll();
  ASSERT_TRUE(backend_->WaitForActive(3));
  backend_->ReleaseAll();
  ASSERT_TRUE(WaitFor([&] { return Outstanding() == 0; }));
  EXPECT_EQ(backend_->max_active(), 3);
  EXPECT_EQ(backend_->submitted(), 7);
  EXPECT_EQ(TokensUsed(), 7 * 6);
  EXPECT_EQ(RequestsUsed(), 7);
  EXPECT_EQ(Billed().requests, 7);
}

// The embedded gateway's in-process start (Worker::TryStartInProcess): the generation begins
// before the record is written, and nothing of it shows until the record exists.
class InProcessStartTest : public testing::PipelineFixture {
 protected:
  InProcessStartTest() {
    backend_ = std::make_shared<FakeBackend>(2);
    FakeScript s;
    s.hold = true;
    backend_->SetDefaultScript(s);
  }
  ~InProcessStartTest() override {
    backend_->ReleaseAll();
    if (worker_) worker_->Stop();
  }
  void StartWorker(std::chrono::milliseconds consume_wait = 50ms, store::Store* store = nullptr) {
    MakeCollector();
    worker::WorkerOptions o;
    o.model = kModel;
    o.worker_id = "w-1";
    o.consume_wait = consume_wait;
    o.retry_delay = 50ms;
    o.cancel_poll_interval = 50ms;
    o.stop_grace = 200ms;
    o.cancel_grace = 200ms;
    o.registry = &registry_;
    o.record_result = [this](const protocol::ResultMessage& r) { return collector_->Record(r); };
    worker_ = std::make_unique<worker::Worker>(*seams_.broker, store ? *store : *seams_.store,
                                               seams_.bus, backend_, o);
    ASSERT_TRUE(worker_->Start().ok());
  }
  // Once the worker found the queue empty, it takes the request.
  std::shared_ptr<store::DirectLease> StartInProcess(const protocol::RequestMessage& m) {
    std::shared_ptr<store::DirectLease> lease;
    EXPECT_TRUE(WaitFor([&] { return (lease = worker_->TryStartInProcess(m)) != nullptr; }));
    return lease;
  }

  std::shared_ptr<FakeBackend> backend_;
  std::unique_ptr<worker::Worker> worker_;
};

TEST_F(InProcessStartTest, GeneratesBeforeTheRecordExistsAndPublishesOnlyAfterIt) {
  StartWorker();
  auto m = EmbeddedSeams::Message("r1", kModel, {11, 12, 13}, 10);
  EventLog log(seams_.bus, "r1");
  std::shared_ptr<store::DirectLease> lease = StartInProcess(m);
  ASSERT_TRUE(lease);
  ASSERT_TRUE(backend_->WaitForSubmitted(1));  // running, with no record yet
  backend_->ReleaseAll();
  ASSERT_TRUE(WaitFor([&] { return backend_->ActiveSequences() == 0; }));  // result held back
  EXPECT_TRUE(log.events().empty());
  EXPECT_EQ(seams_.store->GetRequest("r1").status().code(), StatusCode::kNotFound);

  Accept(m, lease);  // the record, its message leased to the worker, `queued`
  EXPECT_NE(lease->tag.load(), 0u);
  auto queue = seams_.broker->Stats(queue::RequestQueueName(kModel));
  ASSERT_TRUE(queue.ok());
  EXPECT_EQ(queue->ready, 0);  // nobody else can take it
  EXPECT_EQ(queue->leased, 1);
  worker_->InProcessSubmitted("r1");
  ASSERT_TRUE(log.WaitTerminal());

  auto types = log.types();
  ASSERT_GE(types.size(), 4u);
  EXPECT_EQ(types[0], "queued");
  EXPECT_EQ(types[1], "started");
  for (size_t i = 2; i + 1 < types.size(); ++i) EXPECT_EQ(types[i], "token") << i;
  EXPECT_EQ(types.back(), "completed");
  store::RequestRecord rec = seams_.Record("r1");
  EXPECT_EQ(rec.status, store::RequestStatus::kCompleted);
  EXPECT_EQ(rec.output_text, "In the beginning");
  EXPECT_EQ(rec.attempts, 1);
  EXPECT_EQ(rec.worker_id, "w-1");
  EXPECT_EQ(TokensUsed(), 6);
  EXPECT_EQ(TokensReserved(), 0);
  EXPECT_EQ(Billed().requests, 1);
  ASSERT_TRUE(WaitFor([&] {  // the leased message is acked
    auto s = seams_.broker->Stats(queue::RequestQueueName(kModel));
    return s.ok() && s->ready + s->leased == 0;
  }));
  // The worker lets go of the request just after the ack.
  EXPECT_TRUE(WaitFor([&] { return worker_->in_flight() == 0; })) << worker_->in_flight();
}

TEST_F(InProcessStartTest, AGenerationWhoseRecordIsNeverWrittenIsDroppedUnseen) {
  StartWorker();
  auto m = EmbeddedSeams::Message("lost", kModel, {11, 12, 13}, 10);
  EventLog log(seams_.bus, "lost");
  ASSERT_TRUE(StartInProcess(m));
  ASSERT_TRUE(backend_->WaitForSubmitted(1));
  // The create step failed (nothing written): MarkRunning finds no record.
  worker_->InProcessSubmitted("lost");
  ASSERT_TRUE(WaitFor([&] { return worker_->in_flight() == 0; }));
  EXPECT_EQ(backend_->cancels(), 1);  // the generation was stopped
  EXPECT_TRUE(log.events().empty());
  EXPECT_EQ(seams_.store->GetRequest("lost").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ResultsCounter("completed") + ResultsCounter("cancelled"), 0);
}

TEST_F(InProcessStartTest, NotTakenWithoutAFreeSlot) {
  StartWorker();
  auto a = EmbeddedSeams::Message("a", kModel, {1}, 4);
  auto b = EmbeddedSeams::Message("b", kModel, {1}, 4);
  auto c = EmbeddedSeams::Message("c", kModel, {1}, 4);
  ASSERT_TRUE(StartInProcess(a));
  ASSERT_TRUE(StartInProcess(b));
  EXPECT_FALSE(worker_->TryStartInProcess(c));  // both slots busy: it goes to the queue
  // Never recorded: they are dropped (and the worker can stop without waiting for them).
  worker_->InProcessSubmitted("a");
  worker_->InProcessSubmitted("b");
  ASSERT_TRUE(WaitFor([&] { return worker_->in_flight() == 0; }));
}

TEST_F(InProcessStartTest, AfterADeclineNothingStartsUntilTheQueueWasLookedAtAgain) {
  // A long consume wait: a consumer blocked in it learns only at its end that the queue is empty.
  StartWorker(2s);
  auto a = EmbeddedSeams::Message("a", kModel, {1}, 4);
  auto b = EmbeddedSeams::Message("b", kModel, {1}, 4);
  ASSERT_TRUE(StartInProcess(a));
  ASSERT_TRUE(StartInProcess(b));
  // No slot: the gateway queues "c" instead. Whether it is in the queue yet or not, a slot
  // freed meanwhile must not go to a newer request before the consumer has looked.
  auto c = EmbeddedSeams::Message("c", kModel, {1}, 4);
  ASSERT_FALSE(worker_->TryStartInProcess(c));
  worker_->InProcessSubmitted("a");  // never recorded: dropped, its slot frees
  ASSERT_TRUE(WaitFor([&] { return backend_->FreeSlots() > 0; }));
  auto d = EmbeddedSeams::Message("d", kModel, {1}, 4);
  EXPECT_FALSE(worker_->TryStartInProcess(d));
  // The consumer's look (nothing queued, as "c" was never written here) reopens the door.
  EXPECT_TRUE(WaitFor([&] { return worker_->TryStartInProcess(d) != nullptr; }));
  worker_->InProcessSubmitted("b");
  worker_->InProcessSubmitted("d");
}

TEST_F(InProcessStartTest, ARecordedRequestTheStoreCannotMarkGoesBackToTheQueue) {
  store::testing::OutageStore outage(*seams_.store);
  StartWorker(50ms, &outage);
  auto m = EmbeddedSeams::Message("r1", kModel, {11, 12, 13}, 10);
  EventLog log(seams_.bus, "r1");
  std::shared_ptr<store::DirectLease> lease = StartInProcess(m);
  ASSERT_TRUE(lease);
  Accept(m, lease);
  outage.down = true;  // MarkRunning fails (Unavailable) after the record committed
  worker_->InProcessSubmitted("r1");
  ASSERT_TRUE(WaitFor([&] { return backend_->cancels() >= 1; }));  // the early run stopped
  EXPECT_TRUE(log.types() == std::vector<std::string>{"queued"});  // nothing of it was shown
  outage.down = false;  // the message was given back: the consumer runs it again
  backend_->ReleaseAll();
  ASSERT_TRUE(log.WaitTerminal());
  EXPECT_EQ(seams_.Record("r1").status, store::RequestStatus::kCompleted);
  EXPECT_EQ(backend_->submitted(), 2);  // the in-process start, then the redelivery
  EXPECT_EQ(log.Count(events::EventType::kStarted), 1);  // only the run that was recorded
  EXPECT_EQ(TokensUsed(), 6);
}

INSTANTIATE_TEST_SUITE_P(Results, PipelineTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("InProcess") : std::string("ViaQueue");
                         });

}  // namespace
}  // namespace inferline::collector
