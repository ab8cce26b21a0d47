#include "redis/redis_url.h"

#include <gtest/gtest.h>

namespace inferline::redis {
namespace {

TEST(ParseRedisUrl, HostPortAndDefaults) {
  auto ep = ParseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->host, "cache.internal");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->db, 0);
  EXPECT_EQ(ep->password, "");
  ep = ParseRedisUrl("redis://127.0.0.1:7001/3");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 7001);
  EXPECT_EQ(ep->db, 3);
  EXPECT_EQ(ep->Describe(), "127.0.0.1:7001/3");
}

TEST(ParseRedisUrl, Credentials) {
  auto ep = ParseRedisUrl("redis://:s%40cret@h:1/");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->user, "");
  EXPECT_EQ(ep->password, "s@cret");
  EXPECT_EQ(ep->db, 0);
  ep = ParseRedisUrl("redis://gateway:pw@h");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->user, "gateway");
  EXPECT_EQ(ep->password, "pw");
  EXPECT_EQ(ep->Describe().find("pw"), std::string::npos);
}

TEST(ParseRedisUrl, Ipv6) {
  auto ep = ParseRedisUrl("redis://[::1]:6380/2");
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->Describe(), "[::1]:6380/2");
  EXPECT_TRUE(ParseRedisUrl("redis://[::1]").ok());
}

TEST(ParseRedisUrl, RejectsBadUrlsWithAClearMessage) {
  for (const char* bad :
       {"", "http://h:1", "redis://", "redis://:6379", "redis://h:", "redis://h:0",
        "redis://h:65536", "redis://h:12ab", "redis://h:1/x", "redis://h:1/-1", "redis://[::1",
        "redis://[::1]x", "redis://:%zz@h", "redis://:%4@h", "redis://h st:1"}) {
    auto ep = ParseRedisUrl(bad);
    EXPECT_FALSE(ep.ok()) << bad;
    if (!ep.ok()) {
      EXPECT_EQ(ep.status().code(), StatusCode::kInvalidArgument) << bad;
      EXPECT_NE(ep.status().message().find("invalid Redis URL"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace inferline::redis
