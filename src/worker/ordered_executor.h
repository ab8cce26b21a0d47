// OrderedExecutor: a few threads, each draining its own FIFO of tasks. Post(key, task) runs
// tasks with the same key in the order they were posted, on one thread; different keys spread
// over the threads. The Worker posts a request's token flushes and its completion under the
// request's key, so a request's events are published in order and all of them before its
// result, while slow work for one request (a durable publish) does not stall the others on
// other threads.
//
// Thread-safety: Post may be called from any thread, by callers that keep the executor alive
// until Post returns (it signals the lane after unlocking); Shutdown from any thread but a task.
// Each lane's mutex guards its queue and its stop flag.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace inferline::worker {

class OrderedExecutor {
 public:
  explicit OrderedExecutor(int threads);
  ~OrderedExecutor();  // Shutdown()

  OrderedExecutor(const OrderedExecutor&) = delete;
  OrderedExecutor& operator=(const OrderedExecutor&) = delete;

  // Runs `task` after every task posted before it with the same key. After Shutdown the task
  // runs on the caller's thread at once, so nothing posted is ever lost.
  void Post(size_t key, std::function<void()> task);

  // Runs what is queued, then stops the threads. Idempotent.
  void Shutdown();

 private:
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> tasks;
    bool stop = false;
    std::thread thread;
  };
  void Run(Lane& lane);

  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace inferline::worker
