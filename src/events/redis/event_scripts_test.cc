#include <gtest/gtest.h>

#include "events/redis/event_listener.h"
#include "events/redis/event_scripts.h"

namespace inferline::events {
namespace {

TEST(RedisEventKeys, EntryIds) {
  EXPECT_EQ(redis_events::StreamKey("req-1"), "events:req-1");
  EXPECT_EQ(redis_events::EntryId(42), "0-42");
  EXPECT_EQ(redis_events::EventIdOf("0-42"), 42);
  EXPECT_EQ(redis_events::EventIdOf("1-42"), -1);
  EXPECT_EQ(redis_events::EventIdOf("0-"), -1);
  EXPECT_EQ(redis_events::EventIdOf("0-4x"), -1);
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
