#include "hub/url.h"

#include <gtest/gtest.h>

namespace inferline::hub {
namespace {

TEST(UrlTest, ParsesSchemesPortsAndTargets) {
  auto u = ParseUrl("https://huggingface.co");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "huggingface.co");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->Origin(), "https://huggingface.co");
  EXPECT_EQ(u->HostHeader(), "huggingface.co");

  auto v = ParseUrl("http://127.0.0.1:8123/a/b?x=1");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->https);
  EXPECT_EQ(v->port, "8123");
  EXPECT_EQ(v->target, "/a/b?x=1");
  EXPECT_EQ(v->Origin(), "http://127.0.0.1:8123");
  EXPECT_EQ(v->HostHeader(), "127.0.0.1:8123");

  EXPECT_FALSE(ParseUrl("ftp://example.com/x").ok());
  EXPECT_FALSE(ParseUrl("huggingface.co").ok());
  EXPECT_FALSE(ParseUrl("http:///nohost").ok());
  EXPECT_FALSE(ParseUrl("").ok());
}

TEST(UrlTest, ResolvesAbsoluteAndRelativeLocations) {
  auto base = ParseUrl("https://huggingface.co/org/m/resolve/abc/model.safetensors");
  ASSERT_TRUE(base.ok());
  auto cdn = ResolveLocation(*base, "https://cdn-lfs.hf.co/repos/x/y?sig=1&exp=2");
  ASSERT_TRUE(cdn.ok());
  EXPECT_EQ(cdn->host, "cdn-lfs.hf.co");
  EXPECT_EQ(cdn->target, "/repos/x/y?sig=1&exp=2");
  EXPECT_NE(cdn->Origin(), base->Origin());

  auto moved = ResolveLocation(*base, "/new-org/m/resolve/abc/model.safetensors");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->ToString(), "https://huggingface.co/new-org/m/resolve/abc/model.safetensors");

  auto sibling = ResolveLocation(*base, "other.json");
  ASSERT_TRUE(sibling.ok());
  EXPECT_EQ(sibling->target, "/org/m/resolve/abc/other.json");

  EXPECT_FALSE(ResolveLocation(*base, "ftp://x/y").ok());
}

TEST(UrlTest, EncodesSegmentsAndPaths) {
  EXPECT_EQ(EncodeSegment("refs/pr/1"), "refs%2Fpr%2F1");
  EXPECT_EQ(EncodeSegment("a b+c"), "a%20b%2Bc");
  EXPECT_EQ(EncodePath("sub dir/model-00001-of-00002.safetensors"),
            "sub%20dir/model-00001-of-00002.safetensors");
  EXPECT_EQ(EncodePath("owner/name"), "owner/name");
}

}  // namespace
}  // namespace inferline::hub
