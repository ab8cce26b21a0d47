#include "engine/ops/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/ops/reference.h"
#include "engine/ops/test_util.h"

namespace inferline::engine::ops {
namespace {

using testing::AllClose;
using testing::RandomVector;

class RowOpTest : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(RowOpTest, LayerNormMatchesNaive) {
  const auto [rows, dim] = GetParam();
  // An offset and a large scale, like GPT-2's residual stream.
  auto x = RandomVector(rows * dim, 11, 30.0f);
  for (float& v : x) v += 100.0f;
  const auto g = RandomVector(dim, 12);
  const auto b = RandomVector(dim, 13);
  std::vector<float> y(x.size());
  LayerNorm(x, g, b, 1e-5f, dim, y);
  EXPECT_TRUE(AllClose(y, reference::LayerNorm(x, g, b, 1e-5f, dim), 1e-5f, 1e-4f));
  LayerNorm(x, g, b, 1e-5f, dim, x);  // in place
  EXPECT_TRUE(AllClose(x, y, 0.0f));
}

TEST_P(RowOpTest, RmsNormMatchesNaive) {
  const auto [rows, dim] = GetParam();
  const auto x = RandomVector(rows * dim, 21, 5.0f);
  const auto w = RandomVector(dim, 22);
  std::vector<float> y(x.size());
  RmsNorm(x, w, 1e-6f, dim, y);
  EXPECT_TRUE(AllClose(y, reference::RmsNorm(x, w, 1e-6f, dim), 1e-5f, 1e-5f));
}

TEST_P(RowOpTest, SoftmaxMatchesNaive) {
  const auto [rows, dim] = GetParam();
  auto x = RandomVector(rows * dim, 31, 10.0f);
  const auto want = reference::Softmax(x, dim);
  Softmax(x, dim);
  EXPECT_TRUE(AllClose(x, want, 1e-7f, 1e-5f));
}

TEST_P(RowOpTest, SwiGluMatchesSiluTimesUp) {
  const auto [rows, dim] = GetParam();
  const auto gu = RandomVector(rows * 2 * dim, 41, 3.0f);
  std::vector<float> gate, up;
  for (int64_t r = 0; r < rows; ++r) {
    gate.insert(gate.end(), gu.begin() + r * 2 * dim, gu.begin() + r * 2 * dim + dim);
    up.insert(up.end(), gu.begin() + r * 2 * dim + dim, gu.begin() + (r + 1) * 2 * dim);
  }
  const auto silu = reference::Silu(gate);
  std::vector<float> want(silu.size());
  for (size_t i = 0; i < want.size(); ++i) want[i] = silu[i] * up[i];
  std::vector<float> y(rows * dim);
  SwiGlu(gu, dim, y);
  EXPECT_TRUE(AllClose(y, want, 1e-6f, 1e-5f));
}

INSTANTIATE_TEST_SUITE_P(Shapes, RowOpTest,
                         ::testing::Values(std::pair<int64_t, int64_t>{1, 1},
                                           std::pair<int64_t, int64_t>{1, 7},
                                           std::pair<int64_t, int64_t>{3, 64},
                                           std::pair<int64_t, int64_t>{5, 129}));

TEST(ActivationTest, MatchNaive) {
  auto x = RandomVector(1001, 51, 4.0f);
  x.push_back(0.0f);
  x.push_back(-30.0f);
  x.push_back(30.0f);
  auto g = x;
  GeluTanh(g);
  EXPECT_TRUE(AllClose(g, reference::GeluTanh(x), 1e-6f, 1e-5f));
  auto e = x;
  GeluErf(e);
  EXPECT_TRUE(AllClose(e, reference::GeluErf(x), 1e-6f, 1e-5f));
  auto s = x;
  Silu(s);
  EXPECT_TRUE(AllClose(s, reference::Silu(x), 1e-6f, 1e-5f));
}

TEST(SoftmaxTest, HandlesMaskedEntriesAndFullyMaskedRows) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -kInf, 0.0f, -kInf, -kInf, -kInf};
  Softmax(x, 3);
  EXPECT_FLOAT_EQ(x[0], 0.5f);
  EXPECT_FLOAT_EQ(x[1], 0.0f);
  EXPECT_FLOAT_EQ(x[2], 0.5f);
  for (int i = 3; i < 6; ++i) EXPECT_FLOAT_EQ(x[i], 1.0f / 3.0f);
}

TEST(AddTest, AddsElementwise) {
  std::vector<float> x = {1, 2, 3};
  const std::vector<float> y = {10, 20, 30};
  AddInPlace(x, y);
  EXPECT_EQ(x, (std::vector<float>{11, 22, 33}));
}

}  // namespace
}  // namespace inferline::engine::ops
