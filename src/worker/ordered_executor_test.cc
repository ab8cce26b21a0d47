#include "worker/ordered_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

namespace inferline::worker {
namespace {

TEST(OrderedExecutorTest, RunsTasksOfOneKeyInPostingOrder) {
  std::mutex mu;
  std::vector<std::vector<int>> seen(5);
  {
    OrderedExecutor ex(3);
    for (int i = 0; i < 200; ++i) {
      size_t key = static_cast<size_t>(i % 5);
      ex.Post(key, [&, key, i] {
        std::lock_guard lock(mu);
        seen[key].push_back(i);
      });
    }
    ex.Shutdown();  // runs everything queued
  }
  for (size_t k = 0; k < seen.size(); ++k) {
    ASSERT_EQ(seen[k].size(), 40u) << k;
    for (size_t j = 1; j < seen[k].size(); ++j) EXPECT_LT(seen[k][j - 1], seen[k][j]);
  }
}

TEST(OrderedExecutorTest, RunsTasksPostedAfterShutdownOnTheCaller) {
  OrderedExecutor ex(1);
  ex.Shutdown();
  bool ran = false;
  ex.Post(7, [&] { ran = true; });
  EXPECT_TRUE(ran);
  ex.Shutdown();  // idempotent
}

}  // namespace
}  // namespace inferline::worker
