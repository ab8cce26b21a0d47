#include "engine/ops/rope.h"

#include <gtest/gtest.h>

#include "engine/ops/reference.h"
#include "engine/ops/test_util.h"

namespace inferline::engine::ops {
namespace {

using testing::AllClose;
using testing::RandomVector;

RopeParams Params(int head_dim, std::string type) {
  RopeParams p;
  p.head_dim = head_dim;
  p.theta = 500000.0f;
  p.scaling_type = std::move(type);
  p.factor = 8.0f;
  p.low_freq_factor = 1.0f;
  p.high_freq_factor = 4.0f;
  p.original_max_positions = 64;  // small, so that all three llama3 bands occur at head_dim 32
  return p;
}

class RopeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RopeTest, InvFreqMatchesNaive) {
  const RopeParams p = Params(32, GetParam());
  auto table = RopeTable::Create(p, 100);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const auto want = reference::RopeInvFreq(p);
  ASSERT_EQ(table->inv_freq().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(table->inv_freq()[i], want[i], 2e-6 * want[i]) << "i=" << i;
  }
}

TEST_P(RopeTest, ApplyMatchesNaiveInAndBeyondTheTable) {
  const RopeParams p = Params(32, GetParam());
  auto table = RopeTable::Create(p, RopeTable::kMaxTablePositions + 10);
  ASSERT_TRUE(table.ok());
  constexpr int kHeads = 3;
  for (int64_t pos : {int64_t{0}, int64_t{1}, int64_t{37}, RopeTable::kMaxTablePositions - 1,
                      RopeTable::kMaxTablePositions + 5}) {
    auto x = RandomVector(kHeads * 32, 60 + pos);
    const auto want = reference::Rope(x, kHeads, pos, p);
    table->Apply(x, kHeads, pos);
    // Angles are f32(pos * inv_freq) as in HF, so the error grows with the position.
    const float tol = 2e-6f + 1.5e-7f * static_cast<float>(pos);
    EXPECT_TRUE(AllClose(x, want, tol * 4)) << "pos=" << pos;
  }
}

INSTANTIATE_TEST_SUITE_P(Scaling, RopeTest, ::testing::Values("", "linear", "llama3"));

TEST(RopeTest, Llama3ScalingKeepsHighAndDividesLowFrequencies) {
  const RopeParams p = Params(32, "llama3");
  RopeParams plain = p;
  plain.scaling_type = "";
  auto scaled = RopeTable::Create(p, 8);
  auto base = RopeTable::Create(plain, 8);
  ASSERT_TRUE(scaled.ok() && base.ok());
  EXPECT_FLOAT_EQ(scaled->inv_freq()[0], base->inv_freq()[0]);           // wavelength 2 pi
  EXPECT_FLOAT_EQ(scaled->inv_freq()[15], base->inv_freq()[15] / 8.0f);  // very long
}

TEST(RopeTest, PositionZeroIsIdentity) {
  auto table = RopeTable::Create(Params(8, ""), 4);
  ASSERT_TRUE(table.ok());
  auto x = RandomVector(16, 7);
  const auto orig = x;
  table->Apply(x, 2, 0);
  EXPECT_EQ(x, orig);
}

TEST(RopeTest, RejectsBadParameters) {
  EXPECT_EQ(RopeTable::Create(Params(7, ""), 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RopeTable::Create(Params(0, ""), 4).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RopeTable::Create(Params(2048, ""), 4).status().code(), StatusCode::kInvalidArgument);
  auto yarn = RopeTable::Create(Params(8, "yarn"), 4);
  EXPECT_EQ(yarn.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(yarn.status().message().find("yarn"), std::string::npos);
  RopeParams bad = Params(8, "llama3");
  bad.high_freq_factor = bad.low_freq_factor;
  EXPECT_FALSE(RopeTable::Create(bad, 4).ok());
}

}  // namespace
}  // namespace inferline::engine::ops
