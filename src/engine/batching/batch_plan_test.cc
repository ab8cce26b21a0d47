// The batching policy on its own: decoders always run, prefills share what is left in order.
#include "engine/batching/batch_plan.h"

#include <gtest/gtest.h>

namespace inferline::engine {
namespace {

std::vector<std::pair<size_t, int64_t>> Plan(std::vector<int64_t> left, int64_t max_batch,
                                             int64_t chunk) {
  std::vector<std::pair<size_t, int64_t>> out;
  for (const PlannedStep& p : PlanBatch(left, {max_batch, chunk})) {
    out.emplace_back(p.sequence, p.tokens);
  }
  return out;
}

using V = std::vector<std::pair<size_t, int64_t>>;

TEST(BatchPlanTest, DecodersFirstThenPrefillChunksInAdmissionOrder) {
  EXPECT_EQ(Plan({0, 0, 0}, 512, 256), (V{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(Plan({100, 0, 7, 0}, 512, 64), (V{{1, 1}, {3, 1}, {0, 64}, {2, 7}}));
}

TEST(BatchPlanTest, PrefillsShareTheBudgetLeftByDecoders) {
  // 3 decoders leave 9 of 12: the oldest prefill takes min(chunk 8, 9), the next the last one.
  EXPECT_EQ(Plan({0, 150, 0, 20, 0}, 12, 8), (V{{0, 1}, {2, 1}, {4, 1}, {1, 8}, {3, 1}}));
  // No budget left: prefills wait, decoders still run (even past the budget).
  EXPECT_EQ(Plan({0, 0, 5}, 2, 8), (V{{0, 1}, {1, 1}}));
  EXPECT_EQ(Plan({0, 0, 0, 5}, 2, 8), (V{{0, 1}, {1, 1}, {2, 1}}));
  // A lone prefill gets a whole chunk, never more than its prompt.
  EXPECT_EQ(Plan({1000}, 512, 256), (V{{0, 256}}));
  EXPECT_EQ(Plan({3}, 512, 256), (V{{0, 3}}));
  EXPECT_TRUE(Plan({}, 512, 256).empty());
}

}  // namespace
}  // namespace inferline::engine
