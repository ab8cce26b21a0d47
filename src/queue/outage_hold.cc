#include "queue/outage_hold.h"

#include <algorithm>
#include <thread>

#include "common/log.h"

namespace inferline::queue {

OutageHold::OutageHold(OutageHoldOptions options)
    : options_(std::move(options)),
      started_(Clock::now()),
      next_extend_(started_ + options_.visibility / 3) {}

OutageHold::Step OutageHold::Wait() {
  if (Stopped() || Clock::now() - started_ >= options_.hold) return Step::kGiveUp;
  for (auto until = Clock::now() + backoff_; !Stopped() && Clock::now() < until;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
  if (options_.broker != nullptr && options_.delivery != nullptr && Clock::now() >= next_extend_) {
    if (Status st = options_.broker->ExtendLease(*options_.delivery, options_.visibility);
        !st.ok()) {
      if (st.code() == StatusCode::kFailedPrecondition) return Step::kLeaseLost;
      log::Warn("extending a lease during an outage: {}", st.ToString());
    }
    next_extend_ = Clock::now() + options_.visibility / 3;
  }
  return Stopped() ? Step::kGiveUp : Step::kRetry;
}

}  // namespace inferline::queue
