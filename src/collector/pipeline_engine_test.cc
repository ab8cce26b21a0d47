// Worker + collector end to end with the real engine on the shipped kjv-small model, through
// both backends (the batching Engine, the product default, and the Generator fallback): what
// the platform stores, bills and streams equals what the engine generates for the request.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "collector/collector.h"
#include "collector/testing/pipeline_fixture.h"
#include "engine/generator.h"
#include "protocol/event_data.h"
#include "worker/engine_backend.h"
#include "worker/generator_backend.h"
#include "worker/worker.h"

namespace inferline::collector {
namespace {

using namespace std::chrono_literals;
using worker::testing::EmbeddedSeams;
using worker::testing::EventLog;

constexpr char kModel[] = "kjv-small";

class EnginePipelineTest : public testing::PipelineFixture,
                           public ::testing::WithParamInterface<std::string> {
 protected:
  static void SetUpTestSuite() {
    const char* root = std::getenv("INFERLINE_SOURCE_DIR");
    auto dir = std::filesystem::path(root ? root : ".") / "models" / "kjv-small";
    auto tok = engine::Tokenizer::Load(dir);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tokenizer_ = std::shared_ptr<const engine::Tokenizer>(std::move(*tok));
    auto model = engine::Model::Load(dir, {.num_threads = 1});
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = std::shared_ptr<const engine::Model>(std::move(*model));
  }
  static void TearDownTestSuite() {
    model_.reset();
    tokenizer_.reset();
  }
  ~EnginePipelineTest() override {
    if (worker_) worker_->Stop();
    if (collector_) collector_->Stop();
  }

  void StartAll(int slots) {
    if (GetParam() == "engine") {
      engine::EngineOptions eo;
      eo.max_slots = slots;
      auto e = engine::Engine::Create(model_, tokenizer_, eo);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      backend_ = std::make_shared<worker::EngineBackend>(
          std::shared_ptr<engine::Engine>(std::move(*e)), tokenizer_);
    } else {
      backend_ = std::make_shared<worker::GeneratorBackend>(
          model_, tokenizer_, worker::GeneratorBackendOptions{.slots = slots});
    }
    worker::WorkerOptions o;
    o.model = kModel;
    o.worker_id = "w-engine";
    o.consume_wait = 50ms;
    o.registry = &registry_;
    worker_ = std::make_unique<worker::Worker>(*seams_.broker, *seams_.store, seams_.bus,
                                               backend_, o);
    ASSERT_TRUE(worker_->Start().ok());
    MakeCollector();
    ASSERT_TRUE(collector_->Start().ok());
  }
  protocol::RequestMessage Message(const std::string& id, const std::string& prompt,
                                   int max_tokens, uint64_t seed) {
    auto m = EmbeddedSeams::Message(id, kModel, tokenizer_->Encode(prompt, true), max_tokens);
    m.prompt = prompt;
    m.params.seed = seed;
    m.params.temperature = 0.8;
    return m;
  }
  engine::GenerateResult Reference(const protocol::RequestMessage& m) {
    engine::Generator g(model_, tokenizer_);
    engine::GenerateRequest r;
    r.prompt_ids = m.prompt_ids;
    r.max_tokens = m.params.max_tokens;
    r.sampling.temperature = static_cast<float>(m.params.temperature);
    r.sampling.seed = m.params.seed;
    auto out = g.Generate(r);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : engine::GenerateResult{};
  }

  static std::shared_ptr<const engine::Model> model_;
  static std::shared_ptr<const engine::Tokenizer> tokenizer_;
  std::shared_ptr<worker::ModelBackend> backend_;
  std::unique_ptr<worker::Worker> worker_;
};

std::shared_ptr<const engine::Model> EnginePipelineTest::model_;
std::shared_ptr<const engine::Tokenizer> EnginePipelineTest::tokenizer_;

TEST_P(EnginePipelineTest, GeneratesStoresBillsAndStreamsExactlyWhatTheEngineProduces) {
  auto m = Message("bible-1", "In the beginning God created", 24, 11);
  engine::GenerateResult expected = Reference(m);
  EventLog log(seams_.bus, m.request_id);
  Accept(m);
  StartAll(2);
  ASSERT_TRUE(log.WaitTerminal());

  store::RequestRecord rec = seams_.Record(m.request_id);
  EXPECT_EQ(rec.status, store::RequestStatus::kCompleted);
  EXPECT_EQ(rec.output_text, expected.text);
  EXPECT_EQ(rec.finish_reason, expected.finish_reason);
  ASSERT_TRUE(rec.usage.has_value());
  EXPECT_EQ(rec.usage->prompt_tokens, static_cast<int64_t>(m.prompt_ids.size()));
  EXPECT_EQ(rec.usage->completion_tokens, expected.completion_tokens);
  const int64_t actual = rec.usage->total();
  EXPECT_EQ(TokensUsed(), actual);
  EXPECT_EQ(TokensReserved(), 0);

  std::string streamed;
  for (const auto& e : log.events()) {
    if (e.type == events::EventType::kToken) streamed += protocol::ParseTokenEventData(e.data)->text;
  }
  EXPECT_EQ(streamed, expected.text);
  auto types = log.types();
  EXPECT_EQ(types.front(), "queued");
  EXPECT_EQ(types[1], "started");
  EXPECT_EQ(types.back(), "completed");
}

TEST_P(EnginePipelineTest, SeveralRequestsRunSideBySideAndEachIsBilledExactly) {
  std::vector<protocol::RequestMessage> msgs = {
      Message("a", "And God said", 12, 1), Message("b", "Let there be light", 16, 2),
      Message("c", "The LORD is my shepherd", 8, 3), Message("d", "In the beginning", 20, 4)};
  int64_t expected_total = 0;
  for (const auto& m : msgs) {
    expected_total += static_cast<int64_t>(m.prompt_ids.size()) + Reference(m).completion_tokens;
    Accept(m);
  }
  StartAll(2);
  ASSERT_TRUE(worker::testing::WaitFor([&] { return Outstanding() == 0; }, 60s));
  for (const auto& m : msgs) {
    store::RequestRecord rec = seams_.Record(m.request_id);
    EXPECT_EQ(rec.status, store::RequestStatus::kCompleted) << m.request_id;
    EXPECT_EQ(rec.output_text, Reference(m).text) << m.request_id;
  }
  EXPECT_EQ(TokensUsed(), expected_total);
  EXPECT_EQ(Billed().requests, 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, EnginePipelineTest, ::testing::Values("engine", "generator"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace inferline::collector
