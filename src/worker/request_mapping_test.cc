#include "worker/request_mapping.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace inferline::worker {
namespace {

const engine::Tokenizer& Kjv() {
  static const engine::Tokenizer* tok = [] {
    const char* root = std::getenv("INFERLINE_SOURCE_DIR");
    auto t = engine::Tokenizer::Load(std::filesystem::path(root ? root : ".") / "models" /
                                     "kjv-small");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t).release() : nullptr;
  }();
  return *tok;
}

protocol::RequestMessage Message() {
  protocol::RequestMessage m;
  m.request_id = "r";
  m.prompt = "In the beginning";
  m.prompt_ids = {4, 5, 6};
  m.params.max_tokens = 12;
  m.params.temperature = 0.5;
  m.params.top_p = 0.9;
  m.params.top_k = 40;
  m.params.repetition_penalty = 1.1;
  m.params.presence_penalty = 0.5;
  m.params.frequency_penalty = -0.25;
  m.params.seed = 42;
  m.params.stop = {"\n"};
  return m;
}

TEST(RequestMappingTest, UsesTheGatewaysIdsAndParameters) {
  auto in = ToGenerationInputs(Message(), Kjv());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->prompt_ids, (std::vector<int32_t>{4, 5, 6}));
  EXPECT_EQ(in->max_tokens, 12);
  EXPECT_FLOAT_EQ(in->sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(in->sampling.top_p, 0.9f);
  EXPECT_EQ(in->sampling.top_k, 40);
  EXPECT_FLOAT_EQ(in->sampling.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(in->sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(in->sampling.frequency_penalty, -0.25f);
  EXPECT_EQ(in->sampling.seed, 42u);
  EXPECT_EQ(in->stop, std::vector<std::string>{"\n"});
}

TEST(RequestMappingTest, EncodesThePromptWhenTheMessageHasNoIds) {
  protocol::RequestMessage m = Message();
  m.prompt_ids.clear();
  auto in = ToGenerationInputs(m, Kjv());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->prompt_ids, Kjv().Encode("In the beginning", true));
}

TEST(RequestMappingTest, RejectsWhatTheEngineCannotRunNamingTheField) {
  protocol::RequestMessage empty = Message();
  empty.prompt_ids.clear();
  empty.prompt.clear();
  EXPECT_EQ(ToGenerationInputs(empty, Kjv()).status().param(), "prompt");

  protocol::RequestMessage zero = Message();
  zero.params.max_tokens = 0;
  EXPECT_EQ(ToGenerationInputs(zero, Kjv()).status().param(), "max_tokens");

  protocol::RequestMessage hot = Message();
  hot.params.temperature = -1;
  EXPECT_EQ(ToGenerationInputs(hot, Kjv()).status().param(), "temperature");

  protocol::RequestMessage stop = Message();
  stop.params.stop = {""};
  EXPECT_EQ(ToGenerationInputs(stop, Kjv()).status().param(), "stop");
}

}  // namespace
}  // namespace inferline::worker
