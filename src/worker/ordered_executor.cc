#include "worker/ordered_executor.h"

#include <algorithm>

#include "common/thread_name.h"

namespace inferline::worker {

OrderedExecutor::OrderedExecutor(int threads) {
  int n = std::max(1, threads);
  for (int i = 0; i < n; ++i) lanes_.push_back(std::make_unique<Lane>());
  for (auto& lane : lanes_) lane->thread = std::thread([this, l = lane.get()] {
    NameThisThread("worker-lane");
    Run(*l);
  });
}

OrderedExecutor::~OrderedExecutor() { Shutdown(); }

void OrderedExecutor::Post(size_t key, std::function<void()> task) {
  Lane& lane = *lanes_[key % lanes_.size()];
  {
    std::unique_lock lock(lane.mu);
    if (!lane.stop) {
      lane.tasks.push_back(std::move(task));
      // Signalled after unlocking (the lane outlives every Post): woken under the mutex, the
      // lane's thread would block on it at once, and the unlock would cost a second wake-up.
      lock.unlock();
      lane.cv.notify_one();
      return;
    }
  }
  task();
}

void OrderedExecutor::Shutdown() {
  for (auto& lane : lanes_) {
    std::lock_guard lock(lane->mu);
    lane->stop = true;
    lane->cv.notify_one();
  }
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void OrderedExecutor::Run(Lane& lane) {
  std::unique_lock lock(lane.mu);
  for (;;) {
    lane.cv.wait(lock, [&] { return lane.stop || !lane.tasks.empty(); });
    if (lane.tasks.empty()) return;  // stopped and drained
    std::function<void()> task = std::move(lane.tasks.front());
    lane.tasks.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace inferline::worker
