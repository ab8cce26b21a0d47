// A fixed pool of worker threads for data-parallel loops (matmul rows, attention heads).
//
// ParallelFor splits [0, n) into chunks that the workers and the calling thread take from a
// shared atomic counter, and returns when every chunk is done. There is no task queue and no
// future: the engine only ever needs "run this loop on all cores", and keeping it that narrow
// keeps the hot path free of allocations.
//
// A decode step runs some fifty short loops back to back, so waking sleeping threads for each
// one would cost more than some of the loops. Workers therefore spin (with a pause
// instruction) for up to kSpinMicros after a loop before sleeping on a condition variable, and
// the caller spins likewise while the last workers finish; an idle pool sleeps.
//
// The caller waits only for the workers that joined the loop: once it has run out of chunks it
// closes the loop, and a worker that wakes up later (descheduled on a busy machine) finds it
// closed and goes back to waiting. So a loop never waits for a thread that is not running.
//
// Thread-safety: ParallelFor may be called from any thread; concurrent calls are serialised
// (one loop runs at a time, on all threads). The pool must outlive every call. A callback must
// not call ParallelFor on the same pool (that would deadlock); this is checked.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace inferline::engine {

class ThreadPool {
 public:
  // fn(begin, end, worker): process items [begin, end); `worker` is in [0, num_threads()) and
  // is unique among the callbacks running at the same moment (index per-thread scratch by it).
  using RangeFn = std::function<void(int64_t begin, int64_t end, int worker)>;

  // num_threads counts the calling thread too; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // How long a thread spins for the next loop (or for the end of this one) before sleeping.
  static constexpr int kSpinMicros = 200;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn over [0, n) in chunks of at least `min_chunk` items and blocks until all are done.
  // About `chunks_per_thread` chunks per thread: more balance uneven work (and the tail where
  // one thread finishes first) at the cost of a counter update and a cold start per chunk.
  void ParallelFor(int64_t n, int64_t min_chunk, const RangeFn& fn, int chunks_per_thread = 4);

 private:
  void WorkerLoop(int worker);
  // Takes chunks of the current job until none are left.
  void RunChunks(int worker);

  std::vector<std::thread> workers_;

  // Serialises ParallelFor callers: one job at a time.
  std::mutex job_mu_;

  // The loop's state in one word, so that joining is one compare-and-swap:
  // [generation: 32 bits][open: 1 bit][workers inside: 31 bits]. A worker joins only an open
  // loop of the generation it saw; the caller closes the loop when it runs out of chunks and
  // then waits for the count to drop to 0.
  static constexpr uint64_t kOpen = uint64_t{1} << 31;
  static constexpr uint64_t kCountMask = kOpen - 1;
  std::atomic<uint64_t> state_{0};
  std::atomic<bool> stopping_{false};

  // Sleeping is done under mu_: a new generation and stopping_ are published under it, and a
  // worker leaving a closed loop last notifies done_ under it, so no wake-up is lost.
  std::mutex mu_;
  std::condition_variable wake_;  // workers wait for a new generation
  std::condition_variable done_;  // the caller waits for the workers inside to leave

  // The current loop; written by the caller only while no worker is inside, then published by
  // the release store of state_.
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 1;
  std::atomic<int64_t> next_{0};
};

}  // namespace inferline::engine
