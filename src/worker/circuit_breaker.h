// CircuitBreaker: stops sending work to a dependency that keeps failing, and lets one probe
// through now and then to find out whether it is back.
//
//   closed --(failure_threshold consecutive failures)--> open
//   open --(open_for has passed; the next Allow() is the probe)--> half-open
//   half-open --(the probe succeeds)--> closed
//   half-open --(the probe fails)--> open again, for another open_for
//
// Every call that Allow() let through must report one outcome: OnSuccess, OnFailure, or
// OnAbandoned when it ended without telling anything about the dependency (cancelled). Outcomes
// that arrive while the breaker is open come from calls that started before it opened and are
// ignored. The clock is injected so tests need not sleep.
//
// Thread-safety: every method may be called from any thread; mu_ guards the state.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string_view>

namespace inferline::worker {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State { kClosed, kOpen, kHalfOpen };

  struct Options {
    int failure_threshold = 5;  // consecutive failures that open the circuit (>= 1)
    std::chrono::milliseconds open_for{10'000};  // the cool-down before a probe
  };

  explicit CircuitBreaker(Options options, std::function<Clock::time_point()> clock = Clock::now);

  // True if a call may go ahead now. In half-open state only the probe is allowed, once.
  [[nodiscard]] bool Allow();
  // Whether Allow() would return true now (does not take the probe).
  bool WouldAllow() const;

  void OnSuccess();
  void OnFailure();
  void OnAbandoned();

  State state() const;
  static std::string_view StateName(State s);

 private:
  bool CoolDownOver() const;  // mu_ held

  const Options options_;
  const std::function<Clock::time_point()> clock_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  Clock::time_point opened_at_{};
  bool probe_in_flight_ = false;
};

}  // namespace inferline::worker
