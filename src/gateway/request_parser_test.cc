#include "gateway/request_parser.h"

#include <gtest/gtest.h>

namespace inferline::gateway {
namespace {

TEST(RequestParserTest, CompletionDefaultsAndValues) {
  auto r = ParseGenerationBody(
      R"({"model":"m","prompt":"hi","max_tokens":5,"temperature":0,"stop":"\n","seed":3,
          "stream":true,"stream_options":{"include_usage":true}})",
      BodyShape::kCompletion);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->prompt, "hi");
  EXPECT_EQ(r->params.max_tokens, 5);
  EXPECT_TRUE(r->max_tokens_given);
  EXPECT_EQ(r->params.temperature, 0);
  EXPECT_EQ(r->params.stop, (std::vector<std::string>{"\n"}));
  EXPECT_EQ(r->params.seed, 3u);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
}

TEST(RequestParserTest, TopPZeroMeansTheMostLikelyTokenOnly) {
  // Found by request_parser_fuzz: 0 (and -0) passed the gateway and failed in the sampler.
  for (const char* body : {R"({"model":"m","prompt":"x","top_p":0})",
                           R"({"model":"m","prompt":"x","top_p":-0})"}) {
    auto r = ParseGenerationBody(body, BodyShape::kCompletion);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_GT(r->params.top_p, 0.0);
    EXPECT_LT(r->params.top_p, 1e-3);
  }
}

TEST(RequestParserTest, ChatContentParts) {
  auto r = ParseGenerationBody(
      R"({"model":"m","messages":[{"role":"system","content":"be brief"},
          {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
          "max_completion_tokens":7})",
      BodyShape::kChat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->messages.size(), 2u);
  EXPECT_EQ(r->messages[1].content, "ab");
  EXPECT_EQ(r->params.max_tokens, 7);
}

TEST(RequestParserTest, SeedShapeDefaults) {
  auto r = ParseGenerationBody(R"({"prompt":"hello","user_id":"u1"})", BodyShape::kSeed);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->params.max_tokens, 100);
  EXPECT_DOUBLE_EQ(r->params.temperature, 0.7);
  EXPECT_EQ(r->params.top_k, 50);
  EXPECT_DOUBLE_EQ(r->params.repetition_penalty, 1.2);
  EXPECT_EQ(r->user, "u1");
}

TEST(RequestParserTest, AsyncEitherShape) {
  auto a = ParseGenerationBody(R"({"model":"m","prompt":"x","priority":2,"timeout_seconds":30})",
                               BodyShape::kAsync);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->priority, 2);
  EXPECT_EQ(a->timeout_seconds, 30);
  auto b = ParseGenerationBody(R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
                               BodyShape::kAsync);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->kind, protocol::RequestKind::kChat);
}

struct BadCase {
  const char* body;
  BodyShape shape;
  const char* param;  // expected error param ("" for none)
};

class BadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInputTest, RefusedNamingTheParameter) {
  const BadCase& c = GetParam();
  auto r = ParseGenerationBody(c.body, c.shape);
  ASSERT_FALSE(r.ok()) << c.body;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().param(), c.param) << r.status().message();
  if (*c.param) {
    EXPECT_NE(r.status().message().find(c.param), std::string::npos) << r.status().message();
  }
}

constexpr BodyShape kC = BodyShape::kCompletion;
constexpr BodyShape kCh = BodyShape::kChat;
constexpr BodyShape kA = BodyShape::kAsync;
constexpr BodyShape kS = BodyShape::kSeed;

INSTANTIATE_TEST_SUITE_P(
    Catalogue, BadInputTest,
    ::testing::Values(
        BadCase{"", kC, ""}, BadCase{"{", kC, ""}, BadCase{"[1]", kC, ""},
        BadCase{R"({"prompt":"x"})", kC, "model"},
        BadCase{R"({"model":5,"prompt":"x"})", kC, "model"},
        BadCase{R"({"model":"","prompt":"x"})", kC, "model"},
        BadCase{R"({"model":"m"})", kC, "prompt"},
        BadCase{R"({"model":"m","prompt":""})", kC, "prompt"},
        BadCase{R"({"model":"m","prompt":7})", kC, "prompt"},
        BadCase{R"({"model":"m","prompt":["a","b"]})", kC, "prompt"},
        BadCase{R"({"model":"m","prompt":[1,2]})", kC, "prompt"},
        BadCase{R"({"model":"m","prompt":"x","max_tokens":0})", kC, "max_tokens"},
        BadCase{R"({"model":"m","prompt":"x","max_tokens":"10"})", kC, "max_tokens"},
        BadCase{R"({"model":"m","prompt":"x","max_tokens":1.5})", kC, "max_tokens"},
        BadCase{R"({"model":"m","prompt":"x","temperature":3})", kC, "temperature"},
        BadCase{R"({"model":"m","prompt":"x","temperature":-0.1})", kC, "temperature"},
        BadCase{R"({"model":"m","prompt":"x","temperature":"hot"})", kC, "temperature"},
        BadCase{R"({"model":"m","prompt":"x","top_p":1.5})", kC, "top_p"},
        BadCase{R"({"model":"m","prompt":"x","top_k":-5})", kC, "top_k"},
        BadCase{R"({"model":"m","prompt":"x","repetition_penalty":0})", kC, "repetition_penalty"},
        BadCase{R"({"model":"m","prompt":"x","presence_penalty":9})", kC, "presence_penalty"},
        BadCase{R"({"model":"m","prompt":"x","frequency_penalty":-9})", kC, "frequency_penalty"},
        BadCase{R"({"model":"m","prompt":"x","stop":5})", kC, "stop"},
        BadCase{R"({"model":"m","prompt":"x","stop":["a","b","c","d","e"]})", kC, "stop"},
        BadCase{R"({"model":"m","prompt":"x","stop":[""]})", kC, "stop"},
        BadCase{R"({"model":"m","prompt":"x","seed":"7"})", kC, "seed"},
        BadCase{R"({"model":"m","prompt":"x","stream":"yes"})", kC, "stream"},
        BadCase{R"({"model":"m","prompt":"x","stream_options":{"include_usage":true}})", kC,
                "stream_options"},
        BadCase{R"({"model":"m","prompt":"x","stream":true,"stream_options":{"x":1}})", kC,
                "stream_options.x"},
        BadCase{R"({"model":"m","prompt":"x","n":2})", kC, "n"},
        BadCase{R"({"model":"m","prompt":"x","logprobs":5})", kC, "logprobs"},
        BadCase{R"({"model":"m","prompt":"x","logit_bias":{"1":5}})", kC, "logit_bias"},
        BadCase{R"({"model":"m","prompt":"x","best_of":3})", kC, "best_of"},
        BadCase{R"({"model":"m","prompt":"x","suffix":"y"})", kC, "suffix"},
        BadCase{R"({"model":"m","prompt":"x","bogus":1})", kC, "bogus"},
        BadCase{R"({"model":"m","prompt":"x","user":5})", kC, "user"},
        BadCase{R"({"model":"m","messages":"hi"})", kCh, "messages"},
        BadCase{R"({"model":"m","messages":[]})", kCh, "messages"},
        BadCase{R"({"model":"m","messages":[5]})", kCh, "messages[0]"},
        BadCase{R"({"model":"m","messages":[{"content":"x"}]})", kCh, "messages[0].role"},
        BadCase{R"({"model":"m","messages":[{"role":"wizard","content":"x"}]})", kCh,
                "messages[0].role"},
        BadCase{R"({"model":"m","messages":[{"role":"user"}]})", kCh, "messages[0].content"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
                kCh, "messages[0].content"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[]})", kCh,
                "tools"},
        BadCase{R"({"model":"m","messages":[{"role":"user","content":"x"}],"prompt":"x"})", kCh,
                "prompt"},
        BadCase{R"({"model":"m","prompt":"x","messages":[{"role":"user","content":"x"}]})", kA,
                "messages"},
        BadCase{R"({"model":"m","prompt":"x","priority":99})", kA, "priority"},
        BadCase{R"({"model":"m","prompt":"x","timeout_seconds":0})", kA, "timeout_seconds"},
        BadCase{R"({"max_length":10})", kS, "prompt"},
        BadCase{R"({"prompt":"x","max_length":-1})", kS, "max_length"},
        BadCase{R"({"prompt":"x","num_return_sequences":2})", kS, "num_return_sequences"},
        BadCase{R"({"prompt":"x","max_tokens":2})", kS, "max_tokens"}));

TEST(RequestParserTest, OverlongPrompt) {
  ParseLimits limits;
  limits.max_prompt_chars = 10;
  auto r = ParseGenerationBody(R"({"model":"m","prompt":"01234567890"})", kC, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().param(), "prompt");
}

}  // namespace
}  // namespace inferline::gateway
