#include "common/process_limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

namespace inferline {
namespace {

TEST(ProcessLimits, RaisesTheSoftOpenFileLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  // A low soft limit, as a login shell's often is, under the hard one.
  rlimit low{std::min<rlim_t>(64, before.rlim_max), before.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  OpenFileLimit now = RaiseOpenFileLimit();
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  const rlim_t expected =
      before.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : std::min(before.rlim_max, rlim_t{1} << 20);
  EXPECT_EQ(after.rlim_cur, expected);
  EXPECT_EQ(now.soft, static_cast<uint64_t>(expected));
  EXPECT_EQ(now.hard, before.rlim_max == RLIM_INFINITY ? uint64_t{1} << 20
                                                       : static_cast<uint64_t>(before.rlim_max));
  EXPECT_EQ(after.rlim_max, before.rlim_max);  // the hard limit is left alone
  // Already there: nothing changes.
  EXPECT_EQ(RaiseOpenFileLimit().soft, now.soft);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace inferline
