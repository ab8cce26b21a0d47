#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "common/json_writer.h"

namespace inferline::protocol {
namespace {

TEST(MessagesTest, RequestRoundTrip) {
  RequestMessage m;
  m.request_id = "req_1";
  m.user_id = "alice";
  m.key_id = "key_1";
  m.model = "kjv-small";
  m.kind = RequestKind::kChat;
  m.prompt = "User: hi\nAssistant:";
  m.messages = {{"user", "hi"}};
  m.prompt_ids = {1, 2, 3};
  m.params.max_tokens = 32;
  m.params.temperature = 0.5;
  m.params.stop = {"\n\n"};
  m.params.seed = 7;
  m.prompt_tokens = 3;
  m.reserved_tokens = 35;
  m.deadline_ms = 123;
  m.stream = true;
  auto parsed = ParseRequestMessage(Serialize(m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request_id, "req_1");
  EXPECT_EQ(parsed->kind, RequestKind::kChat);
  EXPECT_EQ(parsed->messages.size(), 1u);
  EXPECT_EQ(parsed->prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(parsed->params.max_tokens, 32);
  EXPECT_EQ(parsed->params.stop, (std::vector<std::string>{"\n\n"}));
  EXPECT_EQ(parsed->params.seed, 7u);
  EXPECT_EQ(parsed->reserved_tokens, 35);
  EXPECT_TRUE(parsed->stream);
}

// Every field, with the characters JSON must escape and numbers at their edges, reads back
// exactly from the directly written text.
TEST(MessagesTest, RequestRoundTripKeepsEveryValueExactly) {
  RequestMessage m;
  m.request_id = "req_\"quoted\"";
  m.user_id = "back\\slash";
  m.key_id = std::string("nul\0byte", 8);
  m.model = "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac";  // UTF-8 passes through
  m.kind = RequestKind::kChat;
  m.prompt = "tab\there\nnew line\r\x01\x1f\b\f\x7f end";
  m.messages = {{"system", "be \"brief\""}, {"user", "\\n is not a newline"}};
  m.prompt_ids = {0, 1, std::numeric_limits<int32_t>::max()};
  m.params.max_tokens = 1 << 24;
  m.params.temperature = 0.7;
  m.params.top_p = 1e-6;
  m.params.top_k = 50;
  m.params.repetition_penalty = 1.0;
  m.params.presence_penalty = -2.0;
  m.params.frequency_penalty = 1.0 / 3.0;
  m.params.stop = {"", "\"", "</s>"};
  m.params.seed = std::numeric_limits<uint64_t>::max();
  m.prompt_tokens = 3;
  m.reserved_tokens = int64_t{1} << 40;
  m.priority = -5;
  m.created_at_ms = 1'795'000'000'000;
  m.deadline_ms = 0;
  m.attempt = 2;
  const std::string text = Serialize(m);
  boost::system::error_code ec;
  (void)boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << text;
  auto parsed = ParseRequestMessage(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << text;
  EXPECT_EQ(parsed->request_id, m.request_id);
  EXPECT_EQ(parsed->user_id, m.user_id);
  EXPECT_EQ(parsed->key_id, m.key_id);
  EXPECT_EQ(parsed->model, m.model);
  EXPECT_EQ(parsed->prompt, m.prompt);
  ASSERT_EQ(parsed->messages.size(), 2u);
  EXPECT_EQ(parsed->messages[0].content, m.messages[0].content);
  EXPECT_EQ(parsed->messages[1].content, m.messages[1].content);
  EXPECT_EQ(parsed->prompt_ids, m.prompt_ids);
  EXPECT_EQ(parsed->params.max_tokens, m.params.max_tokens);
  EXPECT_EQ(parsed->params.temperature, m.params.temperature);
  EXPECT_EQ(parsed->params.top_p, m.params.top_p);
  EXPECT_EQ(parsed->params.top_k, m.params.top_k);
  EXPECT_EQ(parsed->params.repetition_penalty, m.params.repetition_penalty);
  EXPECT_EQ(parsed->params.presence_penalty, m.params.presence_penalty);
  EXPECT_EQ(parsed->params.frequency_penalty, m.params.frequency_penalty);
  EXPECT_EQ(parsed->params.stop, m.params.stop);
  EXPECT_EQ(parsed->params.seed, m.params.seed);
  EXPECT_EQ(parsed->reserved_tokens, m.reserved_tokens);
  EXPECT_EQ(parsed->priority, m.priority);
  EXPECT_EQ(parsed->created_at_ms, m.created_at_ms);
  EXPECT_EQ(parsed->attempt, m.attempt);
}

// AppendJsonString reads back as the same bytes for every byte value, in random strings.
TEST(JsonWriterTest, StringsReadBackAsTheSameBytes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 0x80);  // ASCII: every escape and none
    std::string text;
    AppendJsonString(text, s);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    ASSERT_FALSE(ec) << text;
    ASSERT_TRUE(v.is_string());
    EXPECT_EQ(std::string_view(v.as_string()), s);
  }
  std::string text;
  AppendJsonString(text, "a\"b\\c\n\x01");
  EXPECT_EQ(text, R"("a\"b\\c\n\u0001")");
}

TEST(JsonWriterTest, NumbersReadBack) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    const double d = std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 80) - 60);
    const int64_t i = static_cast<int64_t>(rng());
    std::string text = "[";
    AppendJsonDouble(text, round % 2 ? d : -d);
    text += ',';
    AppendJsonInt(text, i);
    text += ',';
    AppendJsonUint(text, rng());
    text += ']';
    boost::json::value v = boost::json::parse(text);
    // Boost.JSON 1.81's parser may land a unit in the last place off the text's exact value
    // (with its own serializer's text too): within that, the double reads back.
    const double x = round % 2 ? d : -d;
    EXPECT_NEAR(v.as_array()[0].to_number<double>(), x, std::abs(x) * 1e-15) << text;
    EXPECT_EQ(v.as_array()[1].to_number<int64_t>(), i) << text;
  }
}

TEST(MessagesTest, ResultRoundTrip) {
  ResultMessage r;
  r.request_id = "req_1";
  r.user_id = "alice";
  r.model = "kjv-small";
  r.status = FinalStatus::kFailed;
  r.usage = {5, 2};
  r.error_code = "engine_error";
  r.error_message = "boom";
  auto parsed = ParseResultMessage(Serialize(r));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->status, FinalStatus::kFailed);
  EXPECT_EQ(parsed->usage.total(), 7);
  EXPECT_EQ(parsed->error_message, "boom");
}

TEST(MessagesTest, RefusesBadMessages) {
  EXPECT_FALSE(ParseRequestMessage("not json").ok());
  EXPECT_FALSE(ParseRequestMessage("[]").ok());
  auto r = ParseRequestMessage(R"({"schema": 99})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().param(), "schema");
  r = ParseRequestMessage(R"({"schema": 1, "request_id": 5})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().param(), "request_id");
  EXPECT_FALSE(ParseResultMessage(R"({"schema":1,"request_id":"a","user_id":"u","model":"m","status":"weird"})").ok());
}

}  // namespace
}  // namespace inferline::protocol
