#include <gtest/gtest.h>

#include "events/redis/event_listener.h"
#include "events/redis/event_scripts.h"

namespace inferline::events {
namespace {

TEST(RedisEventKeys, Names) {
  EXPECT_EQ(redis_events::LogKey("req-1"), "eventlog:req-1");
  EXPECT_EQ(redis_events::ChannelOf("req-1"), "events:req-1");
}

TEST(RedisEventKeys, ParsesStoredElements) {
  Event e;
  ASSERT_TRUE(redis_events::ParseStored("7\n0\ntoken\n{\"text\":\"a\nb\"}", &e));
  EXPECT_EQ(e.id, 7);
  EXPECT_EQ(e.type, EventType::kToken);
  EXPECT_EQ(e.data, "{\"text\":\"a\nb\"}");
  ASSERT_TRUE(redis_events::ParseStored("9\n1\ncompleted\n", &e));
  EXPECT_EQ(e.id, 9);
  EXPECT_EQ(e.type, EventType::kCompleted);
  EXPECT_EQ(e.data, "");
  for (const char* bad : {"", "7", "7\n", "7\n0", "7\n0\n", "7\n2\ntoken\n{}", "7\n00\ntoken\n{}",
                          "x\n0\ntoken\n{}", "7\n0\nnope\n{}", "7\ntoken\n{}"}) {
    EXPECT_FALSE(redis_events::ParseStored(bad, &e)) << bad;
  }
}

TEST(RedisEventKeys, ParsesPublishedMessages) {
  Event e;
  ASSERT_TRUE(ParsePublished("7\ntoken\n{\"text\":\"a\nb\"}", &e));
  EXPECT_EQ(e.id, 7);
  EXPECT_EQ(e.type, EventType::kToken);
  EXPECT_EQ(e.data, "{\"text\":\"a\nb\"}");  // data may hold newlines
  ASSERT_TRUE(ParsePublished("1\ncompleted\n", &e));
  EXPECT_EQ(e.data, "");
  for (const char* bad : {"", "7", "7\ntoken", "x\ntoken\n{}", "0\ntoken\n{}", "7\nnope\n{}"}) {
    EXPECT_FALSE(ParsePublished(bad, &e)) << bad;
  }
}

}  // namespace
}  // namespace inferline::events
