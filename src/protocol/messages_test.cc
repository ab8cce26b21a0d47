#include "protocol/messages.h"

#include <gtest/gtest.h>

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
