// ChangeSignal: a version counter with a condition variable, so that consumers of the embedded
// queue can sleep until something was committed instead of polling. Writers call Notify() after a
// commit that made messages visible; waiters remember the version they saw and wait for it to move.
//
// Thread-safety: every method may be called from any thread; mu_ guards version_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace inferline::store {

class ChangeSignal {
 public:
  uint64_t version() const {
    std::lock_guard lock(mu_);
    return version_;
  }

  void Notify() {
    {
      std::lock_guard lock(mu_);
      ++version_;
    }
    cv_.notify_all();
  }

  // Returns the current version once it differs from `seen`, or at `deadline`.
  uint64_t WaitChange(uint64_t seen, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return version_ != seen; });
    return version_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t version_ = 0;
};

}  // namespace inferline::store
