#include "engine/ops/thread_pool.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/thread_name.h"

namespace inferline::engine {
namespace {

// Set while a thread is running chunks of some pool's job, to catch re-entrant ParallelFor.
thread_local const ThreadPool* tls_running_pool = nullptr;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until done() or kSpinMicros have passed; returns done().
template <class Done>
bool SpinUntil(const Done& done) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::microseconds(ThreadPool::kSpinMicros);
  for (int i = 1;; ++i) {
    if (done()) return true;
    CpuRelax();
    if (i % 64 == 0 && Clock::now() >= deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) {
    num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  workers_.reserve(num_threads - 1);
  for (int i = 1; i < num_threads; ++i) {
    workers_.emplace_back([this, i] {
      NameThisThread("engine-pool-" + std::to_string(i));
      WorkerLoop(i);
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::ParallelFor(int64_t n, int64_t min_chunk, const RangeFn& fn,
                             int chunks_per_thread) {
  if (n <= 0) return;
  if (tls_running_pool == this) {
    // A "cannot happen" bug in the caller: crash loudly rather than deadlock.
    std::fprintf(stderr, "ThreadPool::ParallelFor called from inside its own callback\n");
    std::abort();
  }
  min_chunk = std::max<int64_t>(1, min_chunk);
  // Small loops, or a pool of one: run inline, no wake-ups.
  if (workers_.empty() || n <= min_chunk) {
    fn(0, n, 0);
    return;
  }
  std::lock_guard<std::mutex> job_lock(job_mu_);
  fn_ = &fn;
  n_ = n;
  const int64_t per_job = static_cast<int64_t>(std::max(1, chunks_per_thread)) * num_threads();
  const int64_t target = (n + per_job - 1) / per_job;
  chunk_ = std::max(min_chunk, target);
  next_.store(0, std::memory_order_relaxed);
  const uint64_t generation = (state_.load(std::memory_order_relaxed) >> 32) + 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.store((generation << 32) | kOpen, std::memory_order_release);
  }
  wake_.notify_all();  // no system call when every worker is spinning
  RunChunks(0);
  state_.fetch_and(~kOpen, std::memory_order_acq_rel);  // latecomers stay out
  auto all_left = [this] { return (state_.load(std::memory_order_acquire) & kCountMask) == 0; };
  if (!SpinUntil(all_left)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, all_left);
  }
  fn_ = nullptr;
}

void ThreadPool::RunChunks(int worker) {
  tls_running_pool = this;
  for (;;) {
    const int64_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (begin >= n_) break;
    (*fn_)(begin, std::min(n_, begin + chunk_), worker);
  }
  tls_running_pool = nullptr;
}

void ThreadPool::WorkerLoop(int worker) {
  uint64_t seen = 0;  // the last generation this worker looked at
  auto ready = [&] {
    return stopping_.load(std::memory_order_acquire) ||
           (state_.load(std::memory_order_acquire) >> 32) != seen;
  };
  for (;;) {
    if (!SpinUntil(ready)) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, ready);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    uint64_t s = state_.load(std::memory_order_acquire);
    seen = s >> 32;
    bool joined = false;
    while ((s >> 32) == seen && (s & kOpen) != 0) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;  // that loop is over already
    RunChunks(worker);
    const uint64_t after = state_.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if ((after & kCountMask) == 0 && (after & kOpen) == 0) {
      std::lock_guard<std::mutex> lock(mu_);  // the caller may be about to sleep on done_
      done_.notify_one();
    }
  }
}

}  // namespace inferline::engine
