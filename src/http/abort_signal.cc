#include "http/abort_signal.h"

#include <boost/asio/post.hpp>

#include <utility>

namespace inferline::http {

AbortSignal::AbortSignal() : state_(std::make_shared<State>()) {}

void AbortSignal::Post(const std::shared_ptr<State>& state, uint64_t generation,
                       const boost::asio::any_io_executor& executor) {
  boost::asio::post(executor, [state, generation] {
    std::function<void()> handler;
    {
      std::lock_guard lock(state->mu);
      // Detached (or re-attached) since: the objects the handler touched may be gone.
      if (state->generation != generation || !state->on_abort) return;
      handler = state->on_abort;
    }
    handler();
  });
}

void AbortSignal::Abort() {
  std::lock_guard lock(state_->mu);
  if (state_->aborted) return;
  state_->aborted = true;
  if (state_->on_abort) Post(state_, state_->generation, state_->executor);
}

bool AbortSignal::aborted() const {
  std::lock_guard lock(state_->mu);
  return state_->aborted;
}

AbortSignal::Attachment::Attachment(AbortSignal* signal, boost::asio::any_io_executor executor,
                                    std::function<void()> on_abort)
    : signal_(signal) {
  if (signal_ == nullptr) return;
  State& s = *signal_->state_;
  std::lock_guard lock(s.mu);
  ++s.generation;
  s.executor = std::move(executor);
  s.on_abort = std::move(on_abort);
  if (s.aborted) Post(signal_->state_, s.generation, s.executor);
}

AbortSignal::Attachment::~Attachment() {
  if (signal_ == nullptr) return;
  State& s = *signal_->state_;
  std::lock_guard lock(s.mu);
  ++s.generation;
  s.on_abort = nullptr;
  s.executor = {};
}

}  // namespace inferline::http
