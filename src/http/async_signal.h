// AsyncSignal: lets a coroutine wait, without blocking its thread, for something that happens on
// another thread ("the result of request X is ready", "a new event for X was published").
//
// The signal carries an epoch that Notify() advances. The race-free pattern is:
//
//   uint64_t seen = signal.epoch();          // 1. remember the epoch
//   if (auto ev = queue.TryPop()) ...        // 2. check the condition
//   co_await signal.WaitFor(seen, 15s);      // 3. sleeps only if nothing was notified since 1.
//
// A wait ends with kNotified, kTimeout, or kCancelled when the waiting coroutine is cancelled,
// which is how HttpServer interrupts event streams and long polls at shutdown or when the client
// goes away (see RequestContext::InterruptOnShutdown).
//
// Thread-safety: Notify() and epoch() may be called from any thread. A waiting coroutine must run
// on a strand or on a single-threaded executor (every HttpServer handler does), because Notify()
// cancels its timer through that executor. The signal must outlive its waits.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace inferline::http {

class AsyncSignal {
 public:
  enum class WaitResult { kNotified, kTimeout, kCancelled };

  AsyncSignal() = default;
  AsyncSignal(const AsyncSignal&) = delete;
  AsyncSignal& operator=(const AsyncSignal&) = delete;

  // Advances the epoch and wakes every current waiter.
  void Notify();

  uint64_t epoch() const;

  // Waits until epoch() != seen, `timeout` has passed, or the coroutine is cancelled.
  boost::asio::awaitable<WaitResult> WaitFor(uint64_t seen,
                                             std::chrono::steady_clock::duration timeout);

  // Waits for the next Notify() (one that happened before this call is missed: prefer WaitFor).
  boost::asio::awaitable<WaitResult> Wait(std::chrono::steady_clock::duration timeout) {
    return WaitFor(epoch(), timeout);
  }

  // Coroutines currently waiting (for tests and debugging).
  size_t waiters() const;

 private:
  struct Waiter {
    explicit Waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
  };

  mutable std::mutex mu_;
  uint64_t epoch_ = 0;                            // guarded by mu_
  std::vector<std::shared_ptr<Waiter>> waiters_;  // guarded by mu_
};

}  // namespace inferline::http
