// Every SIMD kernel table this CPU can run, checked against the naive reference: matrix
// products in each weight precision (with tails in every dimension), attention pieces, exp and
// GELU; plus the determinism contract (a row's result does not depend on the batch around it)
// and the weight encodings themselves.
#include "engine/ops/kernels.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/io/half.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reference.h"
#include "engine/ops/test_util.h"
#include "engine/ops/thread_pool.h"
#include "engine/ops/weight_matrix.h"

namespace inferline::engine::ops {
namespace {

using kernels::KernelTable;
using kernels::Simd;
using testing::AllClose;
using testing::RandomVector;

std::vector<const KernelTable*> Tables() {
  std::vector<const KernelTable*> out;
  for (Simd s : {Simd::kScalar, Simd::kAvx2, Simd::kAvx512}) {
    if (const KernelTable* t = kernels::KernelsFor(s)) out.push_back(t);
  }
  return out;
}

TEST(KernelsTest, ScalarIsAlwaysAvailableAndActiveIsTheBest) {
  ASSERT_NE(kernels::KernelsFor(Simd::kScalar), nullptr);
  const Simd active = kernels::Active().simd;
  if (std::getenv("INFERLINE_SIMD") == nullptr) {
    for (const KernelTable* t : Tables()) EXPECT_LE(t->simd, active);
  }
  ::testing::Test::RecordProperty("simd", kernels::SimdName(active));
}

TEST(WeightMatrixTest, EncodingsRoundTripWithinTheirPrecision) {
  const int64_t rows = 5, cols = 150;  // 150 = two full int8 groups and a partial one
  const auto w = RandomVector(rows * cols, 11);
  for (WeightDType t : {WeightDType::kF32, WeightDType::kBF16, WeightDType::kF16,
                        WeightDType::kInt8}) {
    SCOPED_TRACE(std::string(WeightDTypeName(t)));
    WeightMatrix m(w, rows, cols);
    ASSERT_TRUE(m.Convert(t).ok());
    EXPECT_EQ(m.dtype(), t);
    std::vector<float> row(cols);
    for (int64_t r = 0; r < rows; ++r) {
      m.RowToF32(r, row);
      for (int64_t i = 0; i < cols; ++i) {
        const float v = w[r * cols + i];
        switch (t) {
          case WeightDType::kF32:
            ASSERT_EQ(row[i], v);
            break;
          case WeightDType::kBF16:
            ASSERT_EQ(row[i], BF16ToFloat(FloatToBF16(v)));
            break;
          case WeightDType::kF16:
            ASSERT_EQ(row[i], HalfToFloat(FloatToHalf(v)));
            break;
          case WeightDType::kInt8: {
            const float scale = m.scales()[m.ScaleIndex(r, i)];
            ASSERT_LE(std::fabs(row[i] - v), 0.5f * scale + 1e-7f) << r << "," << i;
            break;
          }
        }
      }
    }
  }
  WeightMatrix m(w, rows, cols);
  // 5 rows are stored as one panel of 16, padded with zero rows.
  const int64_t stored_rows = WeightMatrix::kPanel;
  EXPECT_EQ(m.bytes(), static_cast<size_t>(stored_rows * cols * 4));
  ASSERT_TRUE(m.Convert(WeightDType::kInt8).ok());
  EXPECT_EQ(m.bytes(), static_cast<size_t>(stored_rows * cols + stored_rows * 3 * 4));
  EXPECT_FALSE(m.Convert(WeightDType::kBF16).ok());  // only from f32
  EXPECT_EQ(ParseWeightDType("bfloat16").value(), WeightDType::kBF16);
  EXPECT_EQ(ParseWeightDType("int4").status().param(), "dtype");
}

struct GemmCase {
  int64_t m, n, k;
  bool bias;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, EveryTableAndPrecisionMatchesNaive) {
  const GemmCase c = GetParam();
  const auto x = RandomVector(c.m * c.k, 1);
  const auto w = RandomVector(c.n * c.k, 2);
  const auto b = c.bias ? RandomVector(c.n, 3) : std::vector<float>{};
  ThreadPool pool(3);
  for (WeightDType t : {WeightDType::kF32, WeightDType::kBF16, WeightDType::kF16,
                        WeightDType::kInt8}) {
    WeightMatrix m(w, c.n, c.k);
    ASSERT_TRUE(m.Convert(t).ok());
    // The reference runs on the weights as stored, so only the kernel's arithmetic is tested.
    std::vector<float> stored(c.n * c.k);
    for (int64_t j = 0; j < c.n; ++j) m.RowToF32(j, std::span(stored).subspan(j * c.k, c.k));
    const auto want = reference::MatMul(x, stored, b, c.m, c.n, c.k);
    for (const KernelTable* table : Tables()) {
      SCOPED_TRACE(std::string(WeightDTypeName(t)) + " " + kernels::SimdName(table->simd));
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        std::vector<float> y(c.m * c.n, -1.0f);
        MatMul(x, m, b, y, {c.m, c.n, c.k}, p, *table);
        EXPECT_TRUE(AllClose(y, want, 1e-4f * std::sqrt(static_cast<float>(c.k)), 1e-5f));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(GemmCase{1, 1, 1, false}, GemmCase{1, 17, 9, true},
                                           GemmCase{3, 5, 7, false}, GemmCase{4, 16, 8, true},
                                           GemmCase{5, 33, 31, true}, GemmCase{9, 70, 64, false},
                                           GemmCase{13, 129, 100, true},
                                           GemmCase{1, 300, 257, true},
                                           GemmCase{70, 90, 48, true},
                                           GemmCase{3, 20, 0, true}));

// The determinism contract: a row's output is bit-identical whether computed alone or inside a
// batch of any size, at any position, under any thread split.
TEST(KernelsTest, ARowsResultDoesNotDependOnTheBatch) {
  const int64_t n = 77, k = 200;
  const auto w = RandomVector(n * k, 5);
  const auto x = RandomVector(11 * k, 6);
  ThreadPool pool(2);
  for (WeightDType t : {WeightDType::kF32, WeightDType::kBF16, WeightDType::kInt8}) {
    WeightMatrix m(w, n, k);
    ASSERT_TRUE(m.Convert(t).ok());
    for (const KernelTable* table : Tables()) {
      SCOPED_TRACE(std::string(WeightDTypeName(t)) + " " + kernels::SimdName(table->simd));
      std::vector<float> all(11 * n);
      MatMul(x, m, {}, all, {11, n, k}, &pool, *table);
      for (int64_t r = 0; r < 11; ++r) {
        std::vector<float> one(n);
        MatMul(std::span(x).subspan(r * k, k), m, {}, one, {1, n, k}, nullptr, *table);
        for (int64_t j = 0; j < n; ++j) ASSERT_EQ(one[j], all[r * n + j]) << r << "," << j;
      }
    }
  }
}

TEST(KernelsTest, AttentionPiecesMatchNaive) {
  for (int64_t hd : {4, 16, 24, 64, 128, 256}) {
    const int64_t len = 37;
    const auto q = RandomVector(hd, 1);
    const auto keys = RandomVector(len * hd, 2);
    const auto p = RandomVector(len, 3);
    std::vector<float> want_s(len), want_o(hd, 0.0f);
    for (int64_t j = 0; j < len; ++j) {
      double s = 0;
      for (int64_t c = 0; c < hd; ++c) s += double{q[c]} * keys[j * hd + c];
      want_s[j] = static_cast<float>(s * 0.5);
      for (int64_t c = 0; c < hd; ++c) want_o[c] += p[j] * keys[j * hd + c];
    }
    for (const KernelTable* t : Tables()) {
      SCOPED_TRACE(std::string(kernels::SimdName(t->simd)) + " hd=" + std::to_string(hd));
      std::vector<float> s(len), o(hd, 99.0f);
      t->scores(q.data(), keys.data(), len, hd, 0.5f, s.data());
      EXPECT_TRUE(AllClose(s, want_s, 1e-4f * hd, 1e-5f));
      t->weighted_sum(p.data(), keys.data(), len, hd, o.data());
      EXPECT_TRUE(AllClose(o, want_o, 1e-4f * len, 1e-5f));
      EXPECT_NEAR(t->dot(q.data(), keys.data(), hd), want_s[0] * 2.0f, 1e-4f * hd);
      double want_sum = 0;
      for (float v : keys) want_sum += v;
      EXPECT_NEAR(t->sum(keys.data(), len * hd), want_sum, 1e-4 * len * hd);
      std::vector<float> y(keys.begin(), keys.begin() + hd);
      t->axpy(2.0f, q.data(), y.data(), hd);
      for (int64_t c = 0; c < hd; ++c) EXPECT_FLOAT_EQ(y[c], keys[c] + 2.0f * q[c]);
    }
  }
}

TEST(KernelsTest, ExpAndGeluMatchTheLibm) {
  std::vector<float> xs;
  for (float v = -30.0f; v <= 30.0f; v += 0.0371f) xs.push_back(v);
  xs.push_back(-1000.0f);
  for (const KernelTable* t : Tables()) {
    SCOPED_TRACE(kernels::SimdName(t->simd));
    std::vector<float> e = xs;
    const float sum = t->exp_sub_sum(e.data(), static_cast<int64_t>(e.size()), 1.0f);
    double want_sum = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double want = std::exp(double{xs[i] - 1.0f});  // the kernel subtracts in float
      want_sum += want;
      ASSERT_NEAR(e[i], want, 3e-7 * want) << xs[i];  // -1001 gives exactly 0
    }
    EXPECT_NEAR(sum, want_sum, 1e-5 * want_sum);
    std::vector<float> g = xs;
    t->gelu_tanh(g.data(), static_cast<int64_t>(g.size()));
    const auto want_g = reference::GeluTanh(xs);
    EXPECT_TRUE(AllClose(g, want_g, 2e-6f, 2e-6f));
  }
}

}  // namespace
}  // namespace inferline::engine::ops
