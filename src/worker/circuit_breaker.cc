#include "worker/circuit_breaker.h"

#include <algorithm>
#include <utility>

namespace inferline::worker {

CircuitBreaker::CircuitBreaker(Options options, std::function<Clock::time_point()> clock)
    : options_{std::max(1, options.failure_threshold), options.open_for},
      clock_(std::move(clock)) {}

std::string_view CircuitBreaker::StateName(State s) {
  switch (s) {
    case State::kClosed: return "closed";
    case State::kOpen: return "open";
    case State::kHalfOpen: return "half-open";
  }
  return "?";
}

bool CircuitBreaker::CoolDownOver() const { return clock_() - opened_at_ >= options_.open_for; }

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed: return true;
    case State::kOpen:
      if (!CoolDownOver()) return false;
      state_ = State::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return false;
}

bool CircuitBreaker::WouldAllow() const {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed: return true;
    case State::kOpen: return CoolDownOver();
    case State::kHalfOpen: return !probe_in_flight_;
  }
  return false;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen) return;
  state_ = State::kClosed;
  consecutive_failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::OnFailure() {
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen) return;
  if (state_ == State::kHalfOpen || ++consecutive_failures_ >= options_.failure_threshold) {
    state_ = State::kOpen;
    opened_at_ = clock_();
    probe_in_flight_ = false;
    consecutive_failures_ = 0;
  }
}

void CircuitBreaker::OnAbandoned() {
  std::lock_guard lock(mu_);
  // A probe that told nothing: let the next call probe instead.
  if (state_ == State::kHalfOpen) probe_in_flight_ = false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

}  // namespace inferline::worker
