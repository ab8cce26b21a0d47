#include "gateway/event_inbox.h"

namespace inferline::gateway {

events::EventCallback EventInbox::Callback() {
  return [self = shared_from_this()](const events::Event& ev) {
    if (self->terminal_only_ && !events::IsTerminal(ev.type)) return;
    {
      std::lock_guard lock(self->mu_);
      self->events_.push_back(ev);
    }
    self->signal_.Notify();
  };
}

std::vector<events::Event> EventInbox::Drain() {
  std::lock_guard lock(mu_);
  std::vector<events::Event> out(std::make_move_iterator(events_.begin()),
                                 std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

boost::asio::awaitable<http::AsyncSignal::WaitResult> EventInbox::Wait(
    std::chrono::steady_clock::duration timeout) {
  uint64_t seen = signal_.epoch();
  {
    std::lock_guard lock(mu_);
    if (!events_.empty()) co_return http::AsyncSignal::WaitResult::kNotified;
  }
  co_return co_await signal_.WaitFor(seen, timeout);
}

}  // namespace inferline::gateway
