// Per-process resource limits that a server raises for itself at startup.
//
// Thread-safety: call from main before other threads start.
#pragma once

#include <cstdint>

namespace inferline {

// Raises the soft limit on open file descriptors to the hard limit (capped at 1,048,576) and
// returns the soft limit now in force. A login shell's soft limit is often 1,024, which caps a
// server's client connections (every SSE listener holds one) at about a thousand although the
// hard limit allows far more; raising the soft limit up to the hard one needs no privilege.
// Nothing changes, and the current limit is returned, when it is already that high or the
// call fails.
uint64_t RaiseOpenFileLimit();

}  // namespace inferline
