#include "common/process_limits.h"

#include <sys/resource.h>

#include <algorithm>

namespace inferline {

OpenFileLimit RaiseOpenFileLimit() {
  constexpr rlim_t kCap = rlim_t{1} << 20;
  auto counted = [](rlim_t v) {
    return v == RLIM_INFINITY ? static_cast<uint64_t>(kCap) : static_cast<uint64_t>(v);
  };
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {};
  const rlim_t want = lim.rlim_max == RLIM_INFINITY ? kCap : std::min(lim.rlim_max, kCap);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    rlimit raised{want, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim.rlim_cur = want;
  }
  return {counted(lim.rlim_cur), counted(lim.rlim_max)};
}

}  // namespace inferline
