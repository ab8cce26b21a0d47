// GeneratorBackend on a small random GPT-2 that uses the shipped KJV tokenizer: it must produce
// exactly what a Generator produces for the same request, report usage, stream text, and honour
// cancellation (queued and running).
#include "worker/generator_backend.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>

#include "engine/generator.h"
#include "engine/model/test_model.h"

namespace inferline::worker {
namespace {

using namespace std::chrono_literals;

// One request's callbacks, collected; Wait() returns the result.
struct Sink {
  std::mutex mu;
  std::string streamed;
  std::vector<int> indices;
  std::promise<BackendResult> done;
  std::function<void(int)> on_piece;  // test hook, called with the piece count

  BackendCallbacks Callbacks() {
    return {[this](std::string_view piece, int index) {
              int n;
              {
                std::lock_guard lock(mu);
                streamed.append(piece);
                indices.push_back(index);
                n = static_cast<int>(indices.size());
              }
              if (on_piece) on_piece(n);
            },
            [this](BackendResult r) { done.set_value(std::move(r)); }};
  }
  BackendResult Wait() {
    auto f = done.get_future();
    EXPECT_EQ(f.wait_for(60s), std::future_status::ready);
    return f.get();
  }
};

class GeneratorBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* root = std::getenv("INFERLINE_SOURCE_DIR");
    auto tok = engine::Tokenizer::Load(std::filesystem::path(root ? root : ".") / "models" /
                                       "kjv-small");
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tokenizer_ = std::shared_ptr<const engine::Tokenizer>(std::move(*tok));
    engine::ModelConfig c = engine::testing::TinyConfig("gpt2");
    c.vocab_size = tokenizer_->vocab_size();
    auto m = engine::testing::RandomModel(c, 2024, 1);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::shared_ptr<const engine::Model>(std::move(*m));
  }
  static void TearDownTestSuite() {
    model_.reset();
    tokenizer_.reset();
  }
  protocol::RequestMessage Message(const std::string& id, int max_tokens, uint64_t seed) {
    protocol::RequestMessage m;
    m.request_id = id;
    m.prompt_ids = tokenizer_->Encode("In the beginning");
    m.prompt_tokens = static_cast<int64_t>(m.prompt_ids.size());
    m.params.max_tokens = max_tokens;
    m.params.seed = seed;
    return m;
  }

  static std::shared_ptr<const engine::Model> model_;
  static std::shared_ptr<const engine::Tokenizer> tokenizer_;
};

std::shared_ptr<const engine::Model> GeneratorBackendTest::model_;
std::shared_ptr<const engine::Tokenizer> GeneratorBackendTest::tokenizer_;

TEST_F(GeneratorBackendTest, ProducesWhatTheGeneratorProducesWithExactUsage) {
  engine::Generator reference(model_, tokenizer_);
  engine::GenerateRequest req;
  req.prompt_ids = tokenizer_->Encode("In the beginning");
  req.max_tokens = 20;
  req.sampling.seed = 7;
  auto expected = reference.Generate(req);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();

  GeneratorBackend backend(model_, tokenizer_, {.slots = 2});
  EXPECT_EQ(backend.FreeSlots(), 2);
  Sink sink;
  auto handle = backend.Submit(Message("r", 20, 7), sink.Callbacks());
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  BackendResult r = sink.Wait();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.output_text, expected->text);
  EXPECT_EQ(r.finish_reason, expected->finish_reason);
  EXPECT_EQ(r.usage.prompt_tokens, expected->prompt_tokens);
  EXPECT_EQ(r.usage.completion_tokens, expected->completion_tokens);
  EXPECT_EQ(sink.streamed, r.output_text);
  for (size_t i = 0; i < sink.indices.size(); ++i) EXPECT_EQ(sink.indices[i], static_cast<int>(i));
  (*handle)->Cancel();  // after done: nothing happens
}

TEST_F(GeneratorBackendTest, CancelsARunningAndAQueuedRequest) {
  GeneratorBackend backend(model_, tokenizer_, {.slots = 1});
  // The running request's first piece waits until the test has cancelled both, so the second
  // is certainly still queued when cancelled.
  std::mutex mu;
  std::condition_variable cv;
  bool go = false, in_first_piece = false;
  Sink running, queued;
  running.on_piece = [&](int n) {
    if (n != 1) return;
    std::unique_lock lock(mu);
    in_first_piece = true;
    cv.notify_all();
    cv.wait(lock, [&] { return go; });
  };
  auto h1 = backend.Submit(Message("a", 40, 1), running.Callbacks());
  ASSERT_TRUE(h1.ok());
  auto h2 = backend.Submit(Message("b", 40, 2), queued.Callbacks());
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(backend.FreeSlots(), 0);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return in_first_piece; }));
  }
  (*h2)->Cancel();
  (*h1)->Cancel();
  {
    std::lock_guard lock(mu);
    go = true;
  }
  cv.notify_all();
  BackendResult a = running.Wait();
  EXPECT_EQ(a.finish_reason, "cancelled");
  EXPECT_EQ(a.usage.prompt_tokens, static_cast<int64_t>(Message("a", 1, 1).prompt_ids.size()));
  EXPECT_GE(a.usage.completion_tokens, 1);
  EXPECT_LT(a.usage.completion_tokens, 40);
  BackendResult b = queued.Wait();
  EXPECT_EQ(b.finish_reason, "cancelled");
  EXPECT_EQ(b.usage.total(), 0);
  EXPECT_TRUE(queued.streamed.empty());
}

TEST_F(GeneratorBackendTest, ReportsGenerationErrorsAndRefusesBadRequestsAtSubmit) {
  GeneratorBackend backend(model_, tokenizer_, {.slots = 1});
  Sink too_long;
  auto h = backend.Submit(Message("long", 1000, 1), too_long.Callbacks());  // past the context
  ASSERT_TRUE(h.ok());
  BackendResult r = too_long.Wait();
  EXPECT_EQ(r.finish_reason, "error");
  EXPECT_EQ(r.error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.usage.total(), 0);

  protocol::RequestMessage bad = Message("bad", 4, 1);
  bad.params.top_p = 7;
  Sink never;
  auto refused = backend.Submit(bad, never.Callbacks());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().param(), "top_p");
}

TEST_F(GeneratorBackendTest, ShutdownRefusesNewWork) {
  GeneratorBackend backend(model_, tokenizer_, {.slots = 1});
  backend.Shutdown();
  Sink sink;
  EXPECT_EQ(backend.Submit(Message("x", 4, 1), sink.Callbacks()).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(backend.FreeSlots(), 0);
}

}  // namespace
}  // namespace inferline::worker
