#include "worker/openai_upstream_backend.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "worker/testing/fake_upstream.h"

namespace inferline::worker {
namespace {

using namespace std::chrono_literals;
using testing::FakeReply;
using testing::FakeUpstream;

// Collects one request's callbacks and checks the contract (tokens, then on_done once).
class Collector {
 public:
  BackendCallbacks Callbacks() {
    BackendCallbacks cb;
    cb.on_token = [this](std::string_view piece, int index) {
      std::lock_guard lock(mu_);
      EXPECT_FALSE(done_) << "a token after on_done";
      pieces_.emplace_back(piece);
      indexes_.push_back(index);
      cv_.notify_all();
    };
    cb.on_done = [this](BackendResult r) {
      std::lock_guard lock(mu_);
      EXPECT_FALSE(done_) << "on_done twice";
      done_ = true;
      result_ = std::move(r);
      cv_.notify_all();
    };
    return cb;
  }
  // Waits for on_done (a generous bound: a hang fails the test instead of blocking it).
  BackendResult Wait() {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 20s, [&] { return done_; })) << "no on_done";
    return result_;
  }
  bool WaitForPieces(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 20s, [&] { return pieces_.size() >= n; });
  }
  std::string Joined() {
    std::lock_guard lock(mu_);
    std::string s;
    for (const auto& p : pieces_) s += p;
    return s;
  }
  std::vector<int> indexes() {
    std::lock_guard lock(mu_);
    return indexes_;
  }
  bool done() {
    std::lock_guard lock(mu_);
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> pieces_;
  std::vector<int> indexes_;
  bool done_ = false;
  BackendResult result_;
};

protocol::RequestMessage Request(std::string id = "req-1") {
  protocol::RequestMessage m;
  m.request_id = std::move(id);
  m.model = "tiny";
  m.prompt = "Say hello";
  m.prompt_tokens = 3;
  m.params.max_tokens = 8;
  return m;
}

OpenAIUpstreamOptions Options(const FakeUpstream& fake) {
  OpenAIUpstreamOptions o;
  o.base_url = fake.base_url();
  o.max_concurrency = 4;
  o.connect_timeout = 2s;
  o.first_byte_timeout = 5s;
  o.idle_timeout = 5s;
  o.total_timeout = 20s;
  o.max_retries = 2;
  o.retry_backoff = 10ms;
  o.max_retry_backoff = 50ms;
  o.breaker_failures = 3;
  o.breaker_open_for = 200ms;
  return o;
}

std::unique_ptr<OpenAIUpstreamBackend> Make(OpenAIUpstreamOptions o, metrics::Registry& r) {
  auto backend = OpenAIUpstreamBackend::Create(std::move(o), r);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  return backend.ok() ? std::move(*backend) : nullptr;
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

boost::json::object Body(const testing::SeenRequest& r) {
  return boost::json::parse(r.body).as_object();
}

TEST(OpenAIUpstreamBackendTest, StreamsPiecesAndTakesUsageFromTheFinalChunk) {
  FakeUpstream fake;
  metrics::Registry registry;
  OpenAIUpstreamOptions o = Options(fake);
  o.api_key = "sk-secret";
  o.model = "served-tiny";
  auto backend = Make(o, registry);
  Collector c;
  protocol::RequestMessage m = Request();
  m.params.top_k = 20;
  m.params.stop = {"\n"};
  auto handle = backend->Submit(m, c.Callbacks());
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  BackendResult r = c.Wait();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.output_text, "Hello, world!");
  EXPECT_EQ(c.Joined(), r.output_text);
  EXPECT_EQ(c.indexes(), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.prompt_tokens, 7);  // the upstream's count, not the message's 3
  EXPECT_EQ(r.usage.completion_tokens, 4);
  EXPECT_GT(r.ttft_seconds, 0);

  auto seen = fake.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v1/completions");
  EXPECT_EQ(seen[0].authorization, "Bearer sk-secret");
  auto body = Body(seen[0]);
  EXPECT_EQ(body.at("model").as_string(), "served-tiny");
  EXPECT_EQ(body.at("prompt").as_string(), "Say hello");
  EXPECT_TRUE(body.at("stream").as_bool());
  EXPECT_EQ(body.at("top_k").as_int64(), 20);
  EXPECT_EQ(body.at("stop").at(0).as_string(), "\n");
  EXPECT_TRUE(Has(registry.Render(), "inferline_upstream_requests_total{code=\"200\"} 1"));
  EXPECT_EQ(backend->FreeSlots(), 4);
}

TEST(OpenAIUpstreamBackendTest, ChatMessagesGoToTheChatEndpoint) {
  FakeUpstream fake;
  FakeReply reply;
  reply.finish_reason = "length";
  fake.SetDefault(reply);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  protocol::RequestMessage m = Request();
  m.kind = protocol::RequestKind::kChat;
  m.messages = {{"user", "Say hello"}};
  ASSERT_TRUE(backend->Submit(m, c.Callbacks()).ok());
  BackendResult r = c.Wait();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.output_text, "Hello, world!");
  EXPECT_EQ(r.finish_reason, "length");
  auto seen = fake.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v1/chat/completions");
  EXPECT_EQ(Body(seen[0]).at("messages").at(0).at("content").as_string(), "Say hello");
  EXPECT_EQ(Body(seen[0]).at("model").as_string(), "tiny");  // the request's model by default
}

TEST(OpenAIUpstreamBackendTest, WithoutAUsageChunkTheBackendCounts) {
  FakeUpstream fake;
  FakeReply reply;
  reply.usage = false;
  fake.SetDefault(reply);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  ASSERT_TRUE(backend->Submit(Request(), c.Callbacks()).ok());
  BackendResult r = c.Wait();
  ASSERT_TRUE(r.error.ok());
  EXPECT_EQ(r.usage.prompt_tokens, 3);      // the message's count
  EXPECT_EQ(r.usage.completion_tokens, 4);  // one per content chunk
}

TEST(OpenAIUpstreamBackendTest, RetriesA503ThenSucceedsWithoutDuplicatingOutput) {
  FakeUpstream fake;
  FakeReply busy;
  busy.status = 503;
  busy.retry_after = "0";
  fake.Push(busy);
  FakeReply broken;  // a stream that ends before any token: nothing was shown, so retry
  broken.end_after = 0;
  fake.Push(broken);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  ASSERT_TRUE(backend->Submit(Request(), c.Callbacks()).ok());
  BackendResult r = c.Wait();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.output_text, "Hello, world!");
  EXPECT_EQ(c.Joined(), "Hello, world!");
  EXPECT_EQ(fake.requests().size(), 3u);
  std::string m = registry.Render();
  EXPECT_TRUE(Has(m, "inferline_upstream_retries_total 2")) << m;
  EXPECT_TRUE(Has(m, "inferline_upstream_requests_total{code=\"503\"} 1")) << m;
  EXPECT_TRUE(Has(m, "inferline_upstream_requests_total{code=\"200\"} 2")) << m;
  EXPECT_EQ(backend->circuit_state(), CircuitBreaker::State::kClosed);
}

TEST(OpenAIUpstreamBackendTest, NoRetryOnceATokenWasStreamed) {
  FakeUpstream fake;
  FakeReply cut;
  cut.end_after = 2;
  fake.Push(cut);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  ASSERT_TRUE(backend->Submit(Request(), c.Callbacks()).ok());
  BackendResult r = c.Wait();
  EXPECT_FALSE(r.error.ok());
  // Not Unavailable: the Worker would requeue it, and the text would be sent twice.
  EXPECT_NE(r.error.code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.finish_reason, "error");
  EXPECT_EQ(r.output_text, "Hello,");
  EXPECT_EQ(c.Joined(), "Hello,");
  EXPECT_EQ(r.usage.completion_tokens, 2);
  EXPECT_EQ(fake.requests().size(), 1u);
  EXPECT_TRUE(Has(registry.Render(), "inferline_upstream_retries_total 0"));
}

TEST(OpenAIUpstreamBackendTest, A400FailsAtOnceWithTheUpstreamsMessage) {
  FakeUpstream fake;
  FakeReply bad;
  bad.status = 400;
  bad.error_message = "This model's maximum context length is 2048 tokens";
  fake.Push(bad);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  ASSERT_TRUE(backend->Submit(Request(), c.Callbacks()).ok());
  BackendResult r = c.Wait();
  EXPECT_EQ(r.error.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Has(r.error.message(), "maximum context length is 2048")) << r.error.message();
  EXPECT_EQ(r.finish_reason, "error");
  EXPECT_EQ(r.usage.total(), 0);
  EXPECT_EQ(fake.requests().size(), 1u);
  EXPECT_EQ(backend->circuit_state(), CircuitBreaker::State::kClosed);  // the upstream is fine
}

TEST(OpenAIUpstreamBackendTest, TheBreakerOpensFailsFastThenHalfOpensAndCloses) {
  FakeUpstream fake;
  FakeReply down;
  down.status = 500;
  fake.SetDefault(down);
  metrics::Registry registry;
  OpenAIUpstreamOptions o = Options(fake);
  o.max_retries = 1;
  o.breaker_failures = 2;
  o.breaker_open_for = 300ms;
  auto backend = Make(o, registry);
  for (int i = 0; i < 2; ++i) {
    Collector c;
    ASSERT_TRUE(backend->Submit(Request("f" + std::to_string(i)), c.Callbacks()).ok());
    BackendResult r = c.Wait();
    EXPECT_EQ(r.error.code(), StatusCode::kUnavailable);  // the Worker requeues it
    EXPECT_TRUE(Has(r.error.message(), "500")) << r.error.message();
  }
  EXPECT_EQ(fake.requests().size(), 4u);  // each request: one attempt and one retry
  EXPECT_EQ(backend->circuit_state(), CircuitBreaker::State::kOpen);
  EXPECT_TRUE(Has(registry.Render(), "inferline_upstream_circuit_open 1"));
  EXPECT_EQ(backend->FreeSlots(), 0);
  Collector refused;
  auto fast = backend->Submit(Request("fast"), refused.Callbacks());
  EXPECT_EQ(fast.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Has(fast.status().message(), "upstream circuit open"));
  EXPECT_EQ(fake.requests().size(), 4u);  // it never reached the upstream

  // The upstream recovers; after the cool-down one probe goes through.
  FakeReply held;
  held.hold = true;
  fake.SetDefault(held);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (backend->FreeSlots() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(backend->FreeSlots(), 1);  // only the probe
  Collector probe;
  ASSERT_TRUE(backend->Submit(Request("probe"), probe.Callbacks()).ok());
  EXPECT_EQ(backend->circuit_state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_EQ(backend->FreeSlots(), 0);
  Collector second;
  EXPECT_EQ(backend->Submit(Request("second"), second.Callbacks()).status().code(),
            StatusCode::kUnavailable);
  fake.Release(100);
  BackendResult r = probe.Wait();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(backend->circuit_state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(Has(registry.Render(), "inferline_upstream_circuit_open 0"));
  EXPECT_EQ(backend->FreeSlots(), 4);
}

TEST(OpenAIUpstreamBackendTest, AtMostMaxConcurrencyRequestsInFlight) {
  FakeUpstream fake;
  FakeReply held;
  held.hold = true;
  fake.SetDefault(held);
  metrics::Registry registry;
  OpenAIUpstreamOptions o = Options(fake);
  o.max_concurrency = 2;
  auto backend = Make(o, registry);
  Collector a, b, c;
  ASSERT_TRUE(backend->Submit(Request("a"), a.Callbacks()).ok());
  EXPECT_EQ(backend->FreeSlots(), 1);
  ASSERT_TRUE(backend->Submit(Request("b"), b.Callbacks()).ok());
  EXPECT_EQ(backend->FreeSlots(), 0);
  EXPECT_EQ(backend->ActiveSequences(), 2);
  auto third = backend->Submit(Request("c"), c.Callbacks());
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Has(third.status().message(), "slots"));
  ASSERT_TRUE(fake.WaitUntil([](const FakeUpstream& f) { return f.active() == 2; }));
  fake.Release(100);
  EXPECT_TRUE(a.Wait().error.ok());
  EXPECT_TRUE(b.Wait().error.ok());
  EXPECT_EQ(fake.max_active(), 2);
  EXPECT_EQ(backend->FreeSlots(), 2);
  ASSERT_TRUE(backend->Submit(Request("c"), c.Callbacks()).ok());
  EXPECT_TRUE(c.Wait().error.ok());
}

TEST(OpenAIUpstreamBackendTest, CancelMidStreamClosesTheUpstreamConnection) {
  FakeUpstream fake;
  FakeReply held;
  held.hold = true;
  held.usage = false;
  fake.SetDefault(held);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  auto handle = backend->Submit(Request(), c.Callbacks());
  ASSERT_TRUE(handle.ok());
  fake.Release(1);
  ASSERT_TRUE(c.WaitForPieces(1));
  (*handle)->Cancel();
  BackendResult r = c.Wait();
  EXPECT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_EQ(r.output_text, "Hello");
  EXPECT_EQ(r.usage.prompt_tokens, 3);
  EXPECT_EQ(r.usage.completion_tokens, 1);
  // The upstream saw its client go away (vLLM aborts the generation then).
  EXPECT_TRUE(fake.WaitUntil([](const FakeUpstream& f) { return f.disconnects() == 1; }));
  (*handle)->Cancel();  // after on_done: nothing happens
  EXPECT_EQ(backend->ActiveSequences(), 0);
  EXPECT_EQ(backend->circuit_state(), CircuitBreaker::State::kClosed);
}

TEST(OpenAIUpstreamBackendTest, CancelDuringABackoffEndsItAtOnce) {
  FakeUpstream fake;
  FakeReply busy;
  busy.status = 429;
  busy.retry_after = "5";  // well within total_timeout, so the backend waits
  fake.SetDefault(busy);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  auto handle = backend->Submit(Request(), c.Callbacks());
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(fake.WaitUntil([](const FakeUpstream& f) { return f.requests().size() == 1; }));
  (*handle)->Cancel();
  BackendResult r = c.Wait();  // long before the 5 s the upstream asked for
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_EQ(fake.requests().size(), 1u);
}

TEST(OpenAIUpstreamBackendTest, AStalledUpstreamTimesOut) {
  FakeUpstream fake;
  FakeReply silent;
  silent.stall_headers = true;
  fake.Push(silent);
  FakeReply stalls;
  stalls.stall_after = 1;
  fake.Push(stalls);
  metrics::Registry registry;
  OpenAIUpstreamOptions o = Options(fake);
  o.max_retries = 0;
  o.first_byte_timeout = 200ms;
  o.idle_timeout = 200ms;
  auto backend = Make(o, registry);

  Collector headers;
  ASSERT_TRUE(backend->Submit(Request("h"), headers.Callbacks()).ok());
  BackendResult r = headers.Wait();
  EXPECT_EQ(r.error.code(), StatusCode::kDeadlineExceeded) << r.error.ToString();
  EXPECT_EQ(r.finish_reason, "error");

  Collector body;
  ASSERT_TRUE(backend->Submit(Request("b"), body.Callbacks()).ok());
  r = body.Wait();
  EXPECT_EQ(r.error.code(), StatusCode::kDeadlineExceeded) << r.error.ToString();
  EXPECT_EQ(r.output_text, "Hello");
  EXPECT_TRUE(Has(registry.Render(), "inferline_upstream_requests_total{code=\"timeout\"} 1"));
}

TEST(OpenAIUpstreamBackendTest, AnUnreachableUpstreamIsUnavailableAfterRetries) {
  uint16_t port;
  {
    FakeUpstream gone;
    port = gone.port();
  }
  metrics::Registry registry;
  OpenAIUpstreamOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1/";
  o.max_retries = 2;
  o.retry_backoff = 5ms;
  o.max_retry_backoff = 20ms;
  auto backend = Make(o, registry);
  Collector c;
  ASSERT_TRUE(backend->Submit(Request(), c.Callbacks()).ok());
  BackendResult r = c.Wait();
  EXPECT_EQ(r.error.code(), StatusCode::kUnavailable) << r.error.ToString();
  std::string m = registry.Render();
  EXPECT_TRUE(Has(m, "inferline_upstream_requests_total{code=\"connect_error\"} 3")) << m;
  EXPECT_TRUE(Has(m, "inferline_upstream_retries_total 2")) << m;
}

TEST(OpenAIUpstreamBackendTest, ShutdownCancelsWhatRunsAndRefusesMore) {
  FakeUpstream fake;
  FakeReply held;
  held.hold = true;
  fake.SetDefault(held);
  metrics::Registry registry;
  auto backend = Make(Options(fake), registry);
  Collector c;
  ASSERT_TRUE(backend->Submit(Request(), c.Callbacks()).ok());
  ASSERT_TRUE(fake.WaitUntil([](const FakeUpstream& f) { return f.active() == 1; }));
  backend->Shutdown();
  EXPECT_TRUE(c.done());  // Shutdown returns after every on_done
  EXPECT_EQ(c.Wait().finish_reason, "cancelled");
  Collector late;
  EXPECT_EQ(backend->Submit(Request("late"), late.Callbacks()).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(backend->FreeSlots(), 0);
}

TEST(OpenAIUpstreamBackendTest, BadOptionsAreRefused) {
  metrics::Registry registry;
  OpenAIUpstreamOptions o;
  EXPECT_EQ(OpenAIUpstreamBackend::Create(o, registry).status().code(),
            StatusCode::kInvalidArgument);
  o.base_url = "https://api.example.com/v1";
  EXPECT_TRUE(Has(Validate(o).message(), "HTTPS"));
  o.base_url = "not a url";
  EXPECT_EQ(Validate(o).code(), StatusCode::kInvalidArgument);
  o.base_url = "http://127.0.0.1:8000/v1";
  EXPECT_TRUE(Validate(o).ok());
  o.max_concurrency = 0;
  EXPECT_TRUE(Has(Validate(o).message(), "max_concurrency"));
  o.max_concurrency = 1;
  o.first_byte_timeout = 0ms;
  EXPECT_TRUE(Has(Validate(o).message(), "first_byte_timeout"));
}

}  // namespace
}  // namespace inferline::worker
