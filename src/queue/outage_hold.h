// OutageHold: how a consumer rides out an outage of a backend (the store, the quota ledger, the
// broker itself) while it holds a delivery, instead of giving the message back. A give-back
// counts a delivery each time, so a few seconds of outage would spend max_deliveries and
// dead-letter messages that nothing is wrong with.
//
//   queue::OutageHold hold({.hold = options.outage_hold, .stopped = [&] { return stop; }});
//   for (;;) {
//     Status st = TryTheCall();
//     if (st.code() != StatusCode::kUnavailable) break;
//     if (hold.Wait() != queue::OutageHold::Step::kRetry) break;
//   }
//
// Wait sleeps 100 ms, doubling up to 2 s, and notices `stopped` within 10 ms. It answers kGiveUp
// once `hold` has passed since construction or `stopped()` is true. Given a broker and a
// delivery, it also extends the delivery's lease every third of `visibility`, and answers
// kLeaseLost when the broker says the lease has moved on (the message went to another consumer).
//
// Thread-safety: one OutageHold per waiting thread.
#pragma once

#include <chrono>
#include <functional>

#include "queue/broker.h"

namespace inferline::queue {

struct OutageHoldOptions {
  std::chrono::milliseconds hold{std::chrono::minutes(5)};
  std::function<bool()> stopped;  // null: never
  Broker* broker = nullptr;       // with `delivery`: keep its lease alive while waiting
  const Delivery* delivery = nullptr;
  std::chrono::milliseconds visibility{std::chrono::seconds(60)};
};

class OutageHold {
 public:
  enum class Step { kRetry, kGiveUp, kLeaseLost };

  explicit OutageHold(OutageHoldOptions options);
  Step Wait();
  // The hold in seconds, for log lines.
  double hold_seconds() const { return std::chrono::duration<double>(options_.hold).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  bool Stopped() const { return options_.stopped && options_.stopped(); }

  OutageHoldOptions options_;
  Clock::time_point started_;
  Clock::time_point next_extend_;
  std::chrono::milliseconds backoff_{100};
};

}  // namespace inferline::queue
