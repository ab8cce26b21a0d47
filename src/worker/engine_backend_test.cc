// EngineBackend over the batching engine on a small random GPT-2 with the shipped KJV
// tokenizer: same text and usage as the Generator for the same request, streaming, Cancel.
#include "worker/engine_backend.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <condition_variable>
#include <future>
#include <mutex>

#include "engine/generator.h"
#include "engine/model/test_model.h"

namespace inferline::worker {
namespace {

using namespace std::chrono_literals;

class EngineBackendTest : public ::testing::Test {
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
  void SetUp() override {
    engine::EngineOptions o;
    o.max_slots = 2;
    auto e = engine::Engine::Create(model_, tokenizer_, o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    backend_ = std::make_unique<EngineBackend>(std::shared_ptr<engine::Engine>(std::move(*e)),
                                               tokenizer_);
  }
  protocol::RequestMessage Message(int max_tokens, uint64_t seed) {
    protocol::RequestMessage m;
    m.request_id = "r";
    m.prompt_ids = tokenizer_->Encode("In the beginning");
    m.prompt_tokens = static_cast<int64_t>(m.prompt_ids.size());
    m.params.max_tokens = max_tokens;
    m.params.seed = seed;
    return m;
  }

  static std::shared_ptr<const engine::Model> model_;
  static std::shared_ptr<const engine::Tokenizer> tokenizer_;
  std::unique_ptr<EngineBackend> backend_;
};

std::shared_ptr<const engine::Model> EngineBackendTest::model_;
std::shared_ptr<const engine::Tokenizer> EngineBackendTest::tokenizer_;

TEST_F(EngineBackendTest, ProducesWhatTheGeneratorProducesWithExactUsage) {
  engine::Generator reference(model_, tokenizer_);
  engine::GenerateRequest req;
  req.prompt_ids = Message(1, 1).prompt_ids;
  req.max_tokens = 20;
  req.sampling.seed = 7;
  auto expected = reference.Generate(req);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();

  EXPECT_EQ(backend_->FreeSlots(), 2);
  std::string streamed;
  std::promise<BackendResult> done;
  auto h = backend_->Submit(Message(20, 7),
                            {[&](std::string_view piece, int) { streamed.append(piece); },
                             [&](BackendResult r) { done.set_value(std::move(r)); }});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  BackendResult r = f.get();
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.output_text, expected->text);
  EXPECT_EQ(r.finish_reason, expected->finish_reason);
  EXPECT_EQ(r.usage.prompt_tokens, expected->prompt_tokens);
  EXPECT_EQ(r.usage.completion_tokens, expected->completion_tokens);
  EXPECT_EQ(streamed, r.output_text);
}

TEST_F(EngineBackendTest, CancelEndsTheRequestWithWhatItConsumed) {
  // The first piece of text holds the scheduler until the test has cancelled, so the cancel
  // certainly lands while the request is running.
  std::mutex mu;
  std::condition_variable cv;
  bool in_first = false, cancelled = false;
  std::promise<BackendResult> done;
  auto h = backend_->Submit(Message(60, 3),
                            {[&](std::string_view, int) {
                               std::unique_lock lock(mu);
                               if (in_first) return;
                               in_first = true;
                               cv.notify_all();
                               cv.wait(lock, [&] { return cancelled; });
                             },
                             [&](BackendResult r) { done.set_value(std::move(r)); }});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return in_first; }));
    (*h)->Cancel();
    cancelled = true;
  }
  cv.notify_all();
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  BackendResult r = f.get();
  EXPECT_TRUE(r.error.ok());
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_GE(r.usage.completion_tokens, 1);
  EXPECT_LT(r.usage.completion_tokens, 60);
  EXPECT_EQ(r.usage.prompt_tokens, Message(1, 1).prompt_tokens);
  (*h)->Cancel();  // after done: nothing happens
}

TEST_F(EngineBackendTest, RefusesBadRequestsAtSubmitNamingTheField) {
  protocol::RequestMessage too_long = Message(100000, 1);
  auto r = backend_->Submit(too_long, {nullptr, [](BackendResult) {}});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().param(), "max_tokens");
}

}  // namespace
}  // namespace inferline::worker
