#include "worker/openai_wire.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace inferline::worker {
namespace {

namespace json = boost::json;

protocol::RequestMessage Message() {
  protocol::RequestMessage m;
  m.request_id = "r1";
  m.model = "tiny";
  m.prompt = "Once upon";
  m.prompt_tokens = 3;
  m.params.max_tokens = 12;
  m.params.temperature = 0.5;
  m.params.top_p = 0.9;
  return m;
}

TEST(OpenAIWireTest, CompletionRequestStreamsAndAsksForUsage) {
  UpstreamRequest r = BuildUpstreamRequest(Message(), "");
  EXPECT_EQ(r.path, "/completions");
  EXPECT_FALSE(r.chat);
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("model").as_string(), "tiny");
  EXPECT_EQ(body.at("prompt").as_string(), "Once upon");
  EXPECT_TRUE(body.at("stream").as_bool());
  EXPECT_TRUE(body.at("stream_options").at("include_usage").as_bool());
  EXPECT_EQ(body.at("max_tokens").as_int64(), 12);
  EXPECT_DOUBLE_EQ(body.at("temperature").as_double(), 0.5);
  EXPECT_DOUBLE_EQ(body.at("top_p").as_double(), 0.9);
  // Parameters left at their defaults are not sent: servers that reject vLLM's extra fields
  // still take ordinary requests.
  for (const char* absent : {"top_k", "repetition_penalty", "seed", "stop", "presence_penalty",
                             "frequency_penalty", "messages"}) {
    EXPECT_FALSE(body.contains(absent)) << absent;
  }
}

TEST(OpenAIWireTest, ChatRequestCarriesMessagesAndEverySetParameter) {
  protocol::RequestMessage m = Message();
  m.kind = protocol::RequestKind::kChat;
  m.messages = {{"system", "Be brief."}, {"user", "Hi"}};
  m.params.top_k = 40;
  m.params.repetition_penalty = 1.1;
  m.params.seed = 7;
  m.params.stop = {"\n", "END"};
  m.params.presence_penalty = 0.5;
  UpstreamRequest r = BuildUpstreamRequest(m, "served-name");
  EXPECT_EQ(r.path, "/chat/completions");
  EXPECT_TRUE(r.chat);
  json::object body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("model").as_string(), "served-name");
  EXPECT_FALSE(body.contains("prompt"));
  ASSERT_EQ(body.at("messages").as_array().size(), 2u);
  EXPECT_EQ(body.at("messages").at(1).at("role").as_string(), "user");
  EXPECT_EQ(body.at("messages").at(1).at("content").as_string(), "Hi");
  EXPECT_EQ(body.at("top_k").as_int64(), 40);
  EXPECT_DOUBLE_EQ(body.at("repetition_penalty").as_double(), 1.1);
  EXPECT_EQ(body.at("seed").to_number<uint64_t>(), 7u);
  EXPECT_EQ(body.at("stop").as_array().size(), 2u);
  EXPECT_DOUBLE_EQ(body.at("presence_penalty").as_double(), 0.5);
}

TEST(OpenAIWireTest, ParsesCompletionAndChatChunks) {
  auto text = ParseUpstreamChunk(
      R"({"choices":[{"index":0,"text":" there","finish_reason":null}],"usage":null})", false);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->text, " there");
  EXPECT_EQ(text->finish_reason, "");
  EXPECT_FALSE(text->usage);

  auto delta = ParseUpstreamChunk(
      R"({"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"length"}]})", true);
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->text, "Hi");
  EXPECT_EQ(delta->finish_reason, "length");

  auto role_only = ParseUpstreamChunk(
      R"({"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]})", true);
  ASSERT_TRUE(role_only.ok());
  EXPECT_EQ(role_only->text, "");

  auto usage = ParseUpstreamChunk(
      R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})",
      false);
  ASSERT_TRUE(usage.ok());
  ASSERT_TRUE(usage->usage);
  EXPECT_EQ(usage->usage->prompt_tokens, 5);
  EXPECT_EQ(usage->usage->completion_tokens, 9);
}

TEST(OpenAIWireTest, StreamedErrorsAndGarbageAreErrors) {
  auto error = ParseUpstreamChunk(R"({"error":{"message":"engine died","code":500}})", false);
  EXPECT_EQ(error.status().code(), StatusCode::kInternal);
  EXPECT_NE(error.status().message().find("engine died"), std::string::npos);
  auto vllm = ParseUpstreamChunk(R"({"object":"error","message":"bad things"})", false);
  EXPECT_NE(vllm.status().message().find("bad things"), std::string::npos);
  EXPECT_EQ(ParseUpstreamChunk("{not json", false).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseUpstreamChunk("[1,2]", false).status().code(), StatusCode::kDataLoss);
}

TEST(OpenAIWireTest, ErrorMessagesFromEveryServerStyle) {
  EXPECT_EQ(UpstreamErrorMessage(R"({"error":{"message":"too long","type":"x"}})"), "too long");
  EXPECT_EQ(UpstreamErrorMessage(R"({"error":"Input validation error"})"),
            "Input validation error");
  EXPECT_EQ(UpstreamErrorMessage(R"({"object":"error","message":"no such model"})"),
            "no such model");
  EXPECT_EQ(UpstreamErrorMessage("Bad Gateway\n"), "Bad Gateway");
  EXPECT_EQ(UpstreamErrorMessage(""), "(no message)");
  EXPECT_EQ(UpstreamErrorMessage(std::string(5000, 'x')).size(), 1000u);
}

TEST(OpenAIWireTest, RetryAfterInSecondsOrAsADate) {
  using std::chrono::milliseconds;
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37
  EXPECT_EQ(ParseRetryAfter("3", now), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now), milliseconds(10'000));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("", now));
  EXPECT_FALSE(ParseRetryAfter("-5", now));
  EXPECT_FALSE(ParseRetryAfter("soon", now));
}

TEST(OpenAIWireTest, FinishReasons) {
  EXPECT_EQ(NormalizeFinishReason("length"), "length");
  EXPECT_EQ(NormalizeFinishReason("stop"), "stop");
  EXPECT_EQ(NormalizeFinishReason("eos_token"), "stop");
  EXPECT_EQ(NormalizeFinishReason(""), "stop");
}

}  // namespace
}  // namespace inferline::worker
