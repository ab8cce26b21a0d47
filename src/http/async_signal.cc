#include "http/async_signal.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace inferline::http {

namespace asio = boost::asio;

void AsyncSignal::Notify() {
  std::vector<std::shared_ptr<Waiter>> to_wake;
  {
    std::lock_guard lock(mu_);
    ++epoch_;
    to_wake = waiters_;
  }
  // A timer may only be touched from its own executor, so the wake-up is posted there; the
  // shared_ptr keeps the timer alive even if the waiter has already timed out and returned.
  for (auto& waiter : to_wake) {
    asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
  }
}

uint64_t AsyncSignal::epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

size_t AsyncSignal::waiters() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

asio::awaitable<AsyncSignal::WaitResult> AsyncSignal::WaitFor(
    uint64_t seen, std::chrono::steady_clock::duration timeout) {
  // A cancellation that arrived while the coroutine was busy elsewhere still counts.
  asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none) co_return WaitResult::kCancelled;

  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
  waiter->timer.expires_after(timeout);
  bool already = false;
  {
    std::lock_guard lock(mu_);
    already = epoch_ != seen;
    if (!already) waiters_.push_back(waiter);
  }
  if (already) co_return WaitResult::kNotified;

  auto [ec] = co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  bool notified = false;
  {
    std::lock_guard lock(mu_);
    notified = epoch_ != seen;
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
  }
  if (notified) co_return WaitResult::kNotified;
  if (!ec) co_return WaitResult::kTimeout;
  co_return WaitResult::kCancelled;
}

}  // namespace inferline::http
