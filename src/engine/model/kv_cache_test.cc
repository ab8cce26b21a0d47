#include "engine/model/kv_cache.h"

#include <gtest/gtest.h>

#include <vector>

namespace inferline::engine {
namespace {

TEST(KvCacheTest, RejectsBadShapesAndCapacities) {
  EXPECT_EQ(KvCache::Create(KvCacheShape{0, 1, 4}, 8).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(KvCache::Create(KvCacheShape{1, 1, 4}, 0).status().code(),
            StatusCode::kInvalidArgument);
  ModelConfig c;
  c.num_layers = 2;
  c.num_kv_heads = 2;
  c.head_dim = 4;
  c.max_positions = 16;
  auto too_big = KvCache::Create(c, 17);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("16"), std::string::npos);
  auto ok = KvCache::Create(c, 16);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->capacity(), 16);
  EXPECT_EQ((*ok)->length(), 0);
  EXPECT_EQ((*ok)->bytes(), size_t{2 * 2 * 2 * 16 * 4 * sizeof(float)});
}

TEST(KvCacheTest, WriteScattersHeadsIntoHeadMajorLayout) {
  auto cache = KvCache::Create(KvCacheShape{2, 2, 3}, 5);
  ASSERT_TRUE(cache.ok());
  KvCache& c = **cache;
  const std::vector<float> k = {1, 2, 3, 4, 5, 6};  // head 0: 1 2 3, head 1: 4 5 6
  const std::vector<float> v = {-1, -2, -3, -4, -5, -6};
  c.Write(1, 4, k, v);
  // [kv_head, capacity, head_dim]: head h, position 4 at (h * 5 + 4) * 3.
  EXPECT_EQ(c.keys(1)[(0 * 5 + 4) * 3 + 0], 1);
  EXPECT_EQ(c.keys(1)[(1 * 5 + 4) * 3 + 2], 6);
  EXPECT_EQ(c.values(1)[(1 * 5 + 4) * 3 + 1], -5);
  EXPECT_EQ(c.keys(0)[(0 * 5 + 4) * 3 + 0], 0);  // other layer untouched
  EXPECT_EQ(c.length(), 0);                      // Write does not extend
}

TEST(KvCacheTest, LengthAndTruncate) {
  auto cache = KvCache::Create(KvCacheShape{1, 1, 2}, 8);
  ASSERT_TRUE(cache.ok());
  (*cache)->SetLength(6);
  EXPECT_EQ((*cache)->length(), 6);
  (*cache)->Truncate(9);  // never grows
  EXPECT_EQ((*cache)->length(), 6);
  (*cache)->Truncate(2);
  EXPECT_EQ((*cache)->length(), 2);
}

}  // namespace
}  // namespace inferline::engine
