// The Worker with the OpenAI-compatible upstream back-end in front of a fake upstream, over the
// embedded seams: tokens reach the event bus as the upstream streams them, usage comes from the
// upstream, and a request the upstream failed waits in the queue while the circuit is open and
// completes once the upstream is back.
#include <gtest/gtest.h>

#include "protocol/event_data.h"
#include "worker/openai_upstream_backend.h"
#include "worker/testing/embedded_seams.h"
#include "worker/testing/fake_upstream.h"
#include "worker/worker.h"

namespace inferline::worker {
namespace {

using namespace std::chrono_literals;
using testing::EmbeddedSeams;
using testing::EventLog;
using testing::FakeReply;
using testing::FakeUpstream;

constexpr char kModel[] = "tiny";

class UpstreamWorkerTest : public ::testing::Test {
 protected:
  void Start(OpenAIUpstreamOptions o) {
    auto backend = OpenAIUpstreamBackend::Create(std::move(o), registry_);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::shared_ptr<OpenAIUpstreamBackend>(std::move(*backend));
    WorkerOptions wo;
    wo.model = kModel;
    wo.worker_id = "w-upstream";
    wo.consume_wait = 50ms;
    wo.cancel_poll_interval = 50ms;
    wo.retry_delay = 20ms;
    wo.registry = &registry_;
    worker_ = std::make_unique<Worker>(*seams_.broker, *seams_.store, seams_.bus, backend_, wo);
    ASSERT_TRUE(worker_->Start().ok());
  }
  OpenAIUpstreamOptions Options() {
    OpenAIUpstreamOptions o;
    o.base_url = fake_.base_url();
    o.max_retries = 0;
    o.retry_backoff = 5ms;
    o.max_retry_backoff = 5ms;
    return o;
  }
  std::optional<protocol::ResultMessage> TakeResult() {
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      auto got = seams_.broker->Consume(queue::kResultsQueue, {1, 60s, 200ms});
      if (!got.ok() || got->empty()) continue;
      auto r = protocol::ParseResultMessage(got->front().payload);
      EXPECT_TRUE(seams_.broker->Ack(got->front()).ok());
      if (r.ok()) return *r;
    }
    return std::nullopt;
  }
  void TearDown() override {
    if (worker_) worker_->Stop();
  }

  FakeUpstream fake_;
  // Room for redeliveries: a consume already waiting when the circuit opens takes the requeued
  // message once more, and the fail-fast Submit gives it back again.
  EmbeddedSeams seams_{10};
  metrics::Registry registry_;
  std::shared_ptr<OpenAIUpstreamBackend> backend_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(UpstreamWorkerTest, StreamsTheUpstreamsTokensAndReportsItsUsage) {
  EventLog log(seams_.bus, "r1");
  seams_.Accept(EmbeddedSeams::Message("r1", kModel, {1, 2, 3}, 8));
  Start(Options());
  auto result = TakeResult();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, protocol::FinalStatus::kCompleted);
  EXPECT_EQ(result->output_text, "Hello, world!");
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->usage.prompt_tokens, 7);
  EXPECT_EQ(result->usage.completion_tokens, 4);
  std::string streamed;
  for (const events::Event& e : log.events()) {
    if (e.type != events::EventType::kToken) continue;
    auto t = protocol::ParseTokenEventData(e.data);
    ASSERT_TRUE(t.ok());
    streamed += t->text;
  }
  EXPECT_EQ(streamed, "Hello, world!");
  ASSERT_EQ(fake_.requests().size(), 1u);
  EXPECT_EQ(fake_.requests()[0].path, "/v1/completions");
}

TEST_F(UpstreamWorkerTest, AFailedRequestWaitsInTheQueueWhileTheCircuitIsOpen) {
  FakeReply down;
  down.status = 503;
  fake_.Push(down);  // the first request fails; the upstream is fine afterwards
  seams_.Accept(EmbeddedSeams::Message("r2", kModel, {1, 2}, 8));
  OpenAIUpstreamOptions o = Options();
  o.breaker_failures = 1;
  o.breaker_open_for = 300ms;
  Start(o);
  auto result = TakeResult();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, protocol::FinalStatus::kCompleted);
  EXPECT_EQ(result->output_text, "Hello, world!");
  // Only the failure and the probe reached the upstream; while the circuit was open the
  // message stayed in (or went straight back to) the queue.
  EXPECT_EQ(fake_.requests().size(), 2u);
  EXPECT_GE(seams_.Record("r2").attempts, 2);
  EXPECT_EQ(backend_->circuit_state(), CircuitBreaker::State::kClosed);
  EXPECT_GE(registry_.AddCounter("inferline_worker_requests_total", "", {"model", "status"})
                .With({kModel, "requeued"})
                .Value(),
            1);
}

}  // namespace
}  // namespace inferline::worker
