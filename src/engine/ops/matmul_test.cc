#include "engine/ops/matmul.h"

#include <gtest/gtest.h>

#include "engine/ops/reference.h"
#include "engine/ops/test_util.h"
#include "engine/ops/thread_pool.h"

namespace inferline::engine::ops {
namespace {

using testing::AllClose;
using testing::RandomVector;

struct Case {
  int64_t m, n, k;
  bool bias;
};

class MatMulTest : public ::testing::TestWithParam<Case> {};

TEST_P(MatMulTest, MatchesNaive) {
  const Case c = GetParam();
  const auto x = RandomVector(c.m * c.k, 1);
  const auto w = RandomVector(c.n * c.k, 2);
  const auto b = c.bias ? RandomVector(c.n, 3) : std::vector<float>{};
  const auto want = reference::MatMul(x, w, b, c.m, c.n, c.k);
  ThreadPool pool(3);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    std::vector<float> y(c.m * c.n, -1.0f);
    MatMul(x, w, b, y, {c.m, c.n, c.k}, p);
    // Sums of k products of N(0,1) values: the error grows like sqrt(k) * eps * |terms|.
    EXPECT_TRUE(AllClose(y, want, 1e-4f * std::sqrt(static_cast<float>(c.k)), 1e-5f));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatMulTest,
                         ::testing::Values(Case{1, 1, 1, false}, Case{1, 17, 9, true},
                                           Case{3, 5, 7, false}, Case{4, 16, 8, true},
                                           Case{5, 33, 31, true}, Case{9, 70, 64, false},
                                           Case{13, 129, 100, true}, Case{1, 300, 257, true}));

}  // namespace
}  // namespace inferline::engine::ops
