#include "protocol/event_data.h"

#include <gtest/gtest.h>

namespace inferline::protocol {
namespace {

TEST(EventDataTest, RoundTripsEveryPayload) {
  auto q = ParseQueuedEventData(Serialize(QueuedEventData{"kjv-small", 5, 21}));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->model, "kjv-small");
  EXPECT_EQ(q->prompt_tokens, 5);
  EXPECT_EQ(q->reserved_tokens, 21);

  auto s = ParseStartedEventData(Serialize(StartedEventData{"w-1", 2, 0.25}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->worker_id, "w-1");
  EXPECT_EQ(s->attempt, 2);
  EXPECT_DOUBLE_EQ(s->queue_wait_seconds, 0.25);

  auto t = ParseTokenEventData(Serialize(TokenEventData{7, "And \"God\"\n"}));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->index, 7);
  EXPECT_EQ(t->text, "And \"God\"\n");
}

TEST(EventDataTest, TerminalCarriesErrorOnlyWhenNotCompleted) {
  TerminalEventData done{FinalStatus::kCompleted, "text", "stop", {3, 4}, "", ""};
  std::string json = Serialize(done);
  EXPECT_EQ(json.find("error"), std::string::npos) << json;
  EXPECT_NE(json.find("\"total_tokens\":7"), std::string::npos) << json;
  auto d = ParseTerminalEventData(json, FinalStatus::kCompleted);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->text, "text");
  EXPECT_EQ(d->usage.completion_tokens, 4);

  TerminalEventData failed{FinalStatus::kFailed, "", "error", {3, 0}, "backend_error", "boom"};
  auto f = ParseTerminalEventData(Serialize(failed), FinalStatus::kFailed);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->status, FinalStatus::kFailed);
  EXPECT_EQ(f->error_code, "backend_error");
  EXPECT_EQ(f->error_message, "boom");
}

TEST(EventDataTest, RejectsMalformedPayloadsNamingTheField) {
  EXPECT_FALSE(ParseTokenEventData("not json").ok());
  auto missing = ParseTokenEventData(R"({"text":"a"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().param(), "index");
  auto bad_usage = ParseTerminalEventData(R"({"usage":[1]})", FinalStatus::kCompleted);
  ASSERT_FALSE(bad_usage.ok());
  EXPECT_EQ(bad_usage.status().param(), "usage");
  auto negative = ParseStartedEventData(R"({"attempt":-1})");
  EXPECT_FALSE(negative.ok());
}

}  // namespace
}  // namespace inferline::protocol
