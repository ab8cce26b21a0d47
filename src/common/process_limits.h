// Per-process resource limits that a server raises for itself at startup.
//
// Thread-safety: call from main before other threads start.
#pragma once

#include <cstdint>

namespace inferline {

struct OpenFileLimit {
  uint64_t soft = 0;  // in force now
  uint64_t hard = 0;  // the most the soft limit may be raised to without privilege
};

// Raises the soft limit on open file descriptors to the hard limit (capped at 1,048,576) and
// returns both limits as they now are. A login shell's soft limit is often 1,024, which caps a
// server's client connections (every SSE listener holds one) at about a thousand although the
// hard limit allows far more; raising the soft limit up to the hard one needs no privilege.
// When the limits cannot be read both are 0; when raising fails the soft limit stays as it was.
OpenFileLimit RaiseOpenFileLimit();

}  // namespace inferline
