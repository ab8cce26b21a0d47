// ChangeSignal: a version counter with a condition variable, so that consumers of the embedded
// queue can sleep until something was committed instead of polling. Writers call Notify() after a
// commit that made messages visible; waiters remember the version they saw and wait for it to move.
// QueueSignals keeps one per queue, so that a commit wakes only the consumers of the queue it
// changed (the collector waiting on the results queue sleeps through every admission).
//
// Thread-safety: every method may be called from any thread; ChangeSignal::mu_ guards version_,
// QueueSignals::mu_ the map (signals are never removed, so references stay valid).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

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

class QueueSignals {
 public:
  // The signal of `queue` (created on first use; a dead-letter queue has its own name).
  ChangeSignal& For(std::string_view queue) {
    std::lock_guard lock(mu_);
    auto it = signals_.find(queue);
    if (it == signals_.end()) {
      it = signals_.emplace(std::string(queue), std::make_unique<ChangeSignal>()).first;
    }
    return *it->second;
  }

  // Wakes every queue's consumers (a change that may touch any queue, shutdown).
  void NotifyAll() {
    std::lock_guard lock(mu_);
    for (auto& [name, signal] : signals_) signal->Notify();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ChangeSignal>, std::less<>> signals_;
};

}  // namespace inferline::store
