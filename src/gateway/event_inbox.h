// EventInbox: hands a request's events from the EventBus (whose callbacks run on the publishing
// thread: a worker, the collector, a blocking-pool thread) to the handler coroutine that streams
// or waits for them on an HTTP I/O thread.
//
// The callback only appends under a mutex and notifies an AsyncSignal, as the bus requires of
// callbacks (quick, never blocking). The coroutine drains what arrived and waits for more.
//
//   auto inbox = std::make_shared<EventInbox>();
//   sub = bus.Subscribe(id, after, inbox->Callback());
//   while (...) { for (auto& ev : inbox->Drain()) ...; co_await inbox->Wait(15s); }
//
// Thread-safety: Callback()'s function may run on any thread; Drain and Wait belong to one
// coroutine on a strand. The callback holds the inbox alive, so a late event is harmless.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "events/event_bus.h"
#include "http/async_signal.h"

namespace inferline::gateway {

class EventInbox : public std::enable_shared_from_this<EventInbox> {
 public:
  // With terminal_only, the callback keeps only the terminal event (a non-streaming answer
  // needs nothing else): the waiting coroutine is not woken for every token.
  explicit EventInbox(bool terminal_only = false) : terminal_only_(terminal_only) {}

  events::EventCallback Callback();

  // Every event received since the last call, in order.
  std::vector<events::Event> Drain();

  // Returns at once if events are waiting; otherwise waits for one, `timeout`, or a cancel.
  boost::asio::awaitable<http::AsyncSignal::WaitResult> Wait(
      std::chrono::steady_clock::duration timeout);

 private:
  const bool terminal_only_;
  std::mutex mu_;
  std::deque<events::Event> events_;  // guarded by mu_
  http::AsyncSignal signal_;
};

}  // namespace inferline::gateway
