// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it (Linux keeps the first
// 15 bytes). Every long-lived thread of inferline names itself: "http-io-0", "sqlite-writer",
// "engine", and so on (docs/operations.md lists them).
//
// Thread-safety: affects only the calling thread.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace inferline {

inline void NameThisThread(std::string_view name) {
  std::string n(name.substr(0, 15));
  ::pthread_setname_np(::pthread_self(), n.c_str());
}

}  // namespace inferline
