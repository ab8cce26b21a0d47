// The Collector alone over the embedded seams: exactly-once finalize / settle / terminal event
// under replays and crashes between its steps, the billing rules per final status, bad results,
// and the embedded startup recovery.
#include "collector/collector.h"

#include <gtest/gtest.h>

#include <thread>

#include "collector/recovery.h"
#include "collector/testing/pipeline_fixture.h"
#include "protocol/event_data.h"
#include "store/testing/outage_store.h"

namespace inferline::collector {
namespace {

using namespace std::chrono_literals;
using worker::testing::EmbeddedSeams;
using worker::testing::EventLog;

class CollectorTest : public testing::PipelineFixture {
 protected:
  CollectorTest() { MakeCollector(); }

  protocol::RequestMessage AcceptOne(const std::string& id, int max_tokens = 10) {
    return Accept(EmbeddedSeams::Message(id, "m", {1, 2, 3}, max_tokens));
  }
  static protocol::ResultMessage Result(const std::string& id, protocol::FinalStatus status,
                                        int64_t prompt, int64_t completion) {
    protocol::ResultMessage r;
    r.request_id = id;
    r.user_id = "user-1";
    r.model = "m";
    r.status = status;
    r.output_text = status == protocol::FinalStatus::kCompleted ? "And God said" : "";
    r.finish_reason = status == protocol::FinalStatus::kCompleted ? "length" : "";
    r.usage = {prompt, completion};
    r.worker_id = "w-1";
    return r;
  }
  void PublishResult(const protocol::ResultMessage& r, const std::string& message_id = "") {
    ASSERT_TRUE(seams_.broker
                    ->Publish(queue::kResultsQueue, protocol::Serialize(r),
                              {message_id.empty() ? r.request_id : message_id, "m", 0, 0})
                    .ok());
  }
  // Handles everything on the results queue.
  void Drain() {
    for (int i = 0; i < 100; ++i) {
      auto n = collector_->ProcessBatch(0ms);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      if (*n == 0) return;
    }
    FAIL() << "the results queue did not drain";
  }
};

TEST_F(CollectorTest, ACompletedResultFinalizesSettlesToActualAndEndsTheStream) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  EXPECT_EQ(TokensReserved(), 13);
  PublishResult(Result("r", protocol::FinalStatus::kCompleted, 3, 4));
  Drain();

  store::RequestRecord rec = seams_.Record("r");
  EXPECT_EQ(rec.status, store::RequestStatus::kCompleted);
  EXPECT_EQ(rec.output_text, "And God said");
  EXPECT_EQ(rec.finish_reason, "length");
  ASSERT_TRUE(rec.usage.has_value());
  EXPECT_EQ(rec.usage->total(), 7);
  EXPECT_EQ(TokensUsed(), 7);
  EXPECT_EQ(TokensReserved(), 0);
  EXPECT_EQ(RequestsUsed(), 1);
  EXPECT_EQ(Outstanding(), 0);
  EXPECT_EQ(Billed().requests, 1);
  EXPECT_EQ(Billed().completion_tokens, 4);

  EXPECT_EQ(log.types(), (std::vector<std::string>{"queued", "completed"}));
  auto data = protocol::ParseTerminalEventData(log.events().back().data,
                                               protocol::FinalStatus::kCompleted);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->text, "And God said");
  EXPECT_EQ(data->usage.total(), 7);
  EXPECT_EQ(ResultsCounter("completed"), 1);
  auto s = seams_.broker->Stats(queue::kResultsQueue);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ready + s->leased, 0);
}

TEST_F(CollectorTest, TheSameResultTwiceFinalizesSettlesAndNotifiesOnce) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  auto first = Result("r", protocol::FinalStatus::kCompleted, 3, 4);
  auto second = Result("r", protocol::FinalStatus::kCompleted, 3, 9);  // a re-run, longer
  auto a = collector_->Apply(first);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->finalized && a->settled && a->event_published);
  auto b = collector_->Apply(second);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->finalized || b->settled || b->event_published);
  // Through the queue as well (a distinct message, as after the first was acked).
  PublishResult(second, "r-again");
  Drain();
  EXPECT_EQ(seams_.Record("r").usage->completion_tokens, 4);
  EXPECT_EQ(TokensUsed(), 7);
  EXPECT_EQ(Billed().requests, 1);
  EXPECT_EQ(Billed().completion_tokens, 4);
  EXPECT_EQ(log.Count(events::EventType::kCompleted), 1);
  EXPECT_EQ(registry_.AddCounter("inferline_collector_duplicate_results_total", "").Get().Value(),
            1);
}

TEST_F(CollectorTest, ACrashBetweenFinalizeAndSettleIsCompletedByTheReplay) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  store::RequestOutcome done;
  done.status = store::RequestStatus::kCompleted;
  done.output_text = "x";
  done.usage = store::TokenUsage{3, 5};
  done.finished_at = Now();
  ASSERT_TRUE(*seams_.store->FinalizeRequest("r", done));  // step 1, then the crash
  auto replay = collector_->Apply(Result("r", protocol::FinalStatus::kCompleted, 3, 5));
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->finalized);
  EXPECT_TRUE(replay->settled);
  EXPECT_TRUE(replay->event_published);
  EXPECT_EQ(TokensUsed(), 8);
  EXPECT_EQ(log.types(), (std::vector<std::string>{"queued", "completed"}));
}

TEST_F(CollectorTest, ACancelledRunBillsWhatItConsumedAndKeepsTheGatewaysEvent) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r", 20);
  ASSERT_TRUE(*seams_.store->MarkRunning("r", "w-1", Now()));
  GatewayCancel("r");
  PublishResult(Result("r", protocol::FinalStatus::kCancelled, 3, 2));
  Drain();
  store::RequestRecord rec = seams_.Record("r");
  EXPECT_EQ(rec.status, store::RequestStatus::kCancelled);
  ASSERT_TRUE(rec.usage.has_value());
  EXPECT_EQ(rec.usage->total(), 5);
  EXPECT_EQ(TokensUsed(), 5);  // of 23 reserved; the rest refunded
  EXPECT_EQ(TokensReserved(), 0);
  EXPECT_EQ(RequestsUsed(), 1);
  EXPECT_EQ(Billed().completion_tokens, 2);
  EXPECT_EQ(log.types(), (std::vector<std::string>{"queued", "cancelled"}));
}

TEST_F(CollectorTest, AnExpiredRequestIsRefundedEntirely) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  auto r = Result("r", protocol::FinalStatus::kExpired, 0, 0);
  r.error_code = "deadline_exceeded";
  PublishResult(r);
  Drain();
  EXPECT_EQ(seams_.Record("r").status, store::RequestStatus::kExpired);
  EXPECT_EQ(TokensUsed(), 0);
  EXPECT_EQ(RequestsUsed(), 0);
  EXPECT_EQ(Outstanding(), 0);
  EXPECT_EQ(Billed().requests, 0);
  ASSERT_EQ(log.types(), (std::vector<std::string>{"queued", "expired"}));
  auto data = protocol::ParseTerminalEventData(log.events().back().data,
                                               protocol::FinalStatus::kExpired);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->error_code, "deadline_exceeded");
}

TEST_F(CollectorTest, UnreadableAndUnknownResultsAreSetAside) {
  ASSERT_TRUE(seams_.broker->Publish(queue::kResultsQueue, "][", {"junk", "m", 0, 0}).ok());
  PublishResult(Result("nobody", protocol::FinalStatus::kCompleted, 1, 1));
  Drain();
  auto results = seams_.broker->Stats(queue::kResultsQueue);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->ready + results->leased, 0);
  EXPECT_EQ(results->dead, 1);
  EXPECT_GE(ResultsCounter("invalid"), 1);
  EXPECT_EQ(ResultsCounter("unknown"), 1);
}

TEST_F(CollectorTest, AStoreOutageHoldsTheResultInsteadOfSpendingItsDeliveries) {
  // Giving the result back at once would count a delivery each time (3 allowed) and an outage
  // of a few seconds would dead-letter it. The collector keeps it, extends its lease, retries.
  store::testing::OutageStore store(*seams_.store);
  CollectorOptions o = CollectorOpts();
  o.visibility_timeout = 600ms;  // the outage outlasts several leases
  collector_ = std::make_unique<Collector>(*seams_.broker, store, *ledger_, seams_.bus, o);
  AcceptOne("held");
  PublishResult(Result("held", protocol::FinalStatus::kCompleted, 3, 4));
  store.down = true;
  std::thread flip([&] {
    std::this_thread::sleep_for(2500ms);
    store.down = false;
  });
  auto n = collector_->ProcessBatch(0ms);  // returns once the store is back
  flip.join();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_GE(store.finalize_calls.load(), 4) << "retried with backoff";
  EXPECT_EQ(seams_.Record("held").status, store::RequestStatus::kCompleted);
  EXPECT_EQ(TokensUsed(), 7);
  EXPECT_EQ(TokensReserved(), 0);
  auto results = seams_.broker->Stats(queue::kResultsQueue);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->ready + results->leased + results->dead, 0);
  auto dlq = seams_.broker->Stats(queue::DeadLetterQueueName(queue::kResultsQueue));
  ASSERT_TRUE(dlq.ok());
  EXPECT_EQ(dlq->dead, 0);
}

TEST_F(CollectorTest, RunsItsOwnLoopUntilStopped) {
  EventLog log(seams_.bus, "r");
  AcceptOne("r");
  ASSERT_TRUE(collector_->Start().ok());
  EXPECT_EQ(collector_->Start().code(), StatusCode::kFailedPrecondition);
  PublishResult(Result("r", protocol::FinalStatus::kFailed, 3, 0));
  ASSERT_TRUE(log.WaitTerminal());
  collector_->Stop();
  EXPECT_EQ(seams_.Record("r").status, store::RequestStatus::kFailed);
  EXPECT_EQ(log.types().back(), "failed");
  EXPECT_EQ(TokensUsed(), 3);
}

TEST_F(CollectorTest, RecoveryCollectsPendingResultsAndReconcilesTheLedger) {
  // "done": its result was published (and leased by a collector that then died).
  AcceptOne("done");
  PublishResult(Result("done", protocol::FinalStatus::kCompleted, 3, 4));
  auto leased = seams_.broker->Consume(queue::kResultsQueue, {1, 1h, 0ms});
  ASSERT_TRUE(leased.ok() && leased->size() == 1);
  // "half": finalized, then the crash before settle (its result was acked meanwhile).
  AcceptOne("half");
  store::RequestOutcome o;
  o.status = store::RequestStatus::kCompleted;
  o.usage = store::TokenUsage{3, 6};
  o.finished_at = Now();
  ASSERT_TRUE(seams_.store->FinalizeRequest("half", o).ok());
  // "ghost": reserved, then the crash before the record was written.
  ASSERT_TRUE(ledger_->Reserve({"user-1", "ghost", 50, 1}, limits_, Now()).ok());
  // "open": still queued, its message leased by a worker that died.
  AcceptOne("open");
  auto taken = seams_.broker->Consume(queue::RequestQueueName("m"), {1, 1h, 0ms});
  ASSERT_TRUE(taken.ok() && taken->size() == 1);

  auto report = RecoverEmbedded(*seams_.broker, *seams_.store, *ledger_, *collector_, Now());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->results_collected, 1);
  EXPECT_EQ(report->quota.settled_finished, 1);
  EXPECT_EQ(report->quota.refunded_unrecorded, 1);
  EXPECT_EQ(report->quota.left_open, 1);
  EXPECT_EQ(report->queued, 1);
  EXPECT_EQ(seams_.Record("done").status, store::RequestStatus::kCompleted);
  EXPECT_EQ(TokensUsed(), 7 + 9);
  EXPECT_EQ(TokensReserved(), 13);  // "open" only
  auto requests = seams_.broker->Stats(queue::RequestQueueName("m"));
  ASSERT_TRUE(requests.ok());
  // Every request message is ready again (no worker ran here): "open" for a worker to run,
  // "done" and "half" for a worker to drop, their records being final.
  EXPECT_EQ(requests->ready, 3);
  EXPECT_EQ(requests->leased, 0);
}

}  // namespace
}  // namespace inferline::collector
