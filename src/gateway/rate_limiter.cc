#include "gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace inferline::gateway {

RateLimiter::RateLimiter(double rate_per_second, double burst, size_t max_keys)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), max_keys_(std::max<size_t>(1, max_keys)) {}

void RateLimiter::Refill(Bucket& b, Clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.updated = now;
  }
}

void RateLimiter::Evict(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second, now);
    it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

bool RateLimiter::Allow(std::string_view key, Clock::time_point now,
                        std::chrono::seconds* retry_after) {
  if (!enabled()) return true;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) Evict(now);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  Refill(b, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after) {
    double wait = (1.0 - b.tokens) / rate_;
    *retry_after = std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait))));
  }
  return false;
}

size_t RateLimiter::size() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

bool SlidingMinuteCounter::Allow(const std::string& user, int64_t limit, Clock::time_point now,
                                 std::chrono::seconds* retry_after) {
  constexpr auto kWindow = std::chrono::minutes(1);
  std::lock_guard lock(mu_);
  auto& times = recent_[user];
  while (!times.empty() && now - times.front() >= kWindow) times.pop_front();
  if (static_cast<int64_t>(times.size()) >= limit) {
    auto wait = std::chrono::ceil<std::chrono::seconds>(times.front() + kWindow - now);
    *retry_after = std::max(wait, std::chrono::seconds(1));
    return false;
  }
  times.push_back(now);
  if (recent_.size() > 100'000) {  // bounded memory: forget users idle for a minute
    for (auto it = recent_.begin(); it != recent_.end();) {
      it = (it->second.empty() || now - it->second.back() >= kWindow) ? recent_.erase(it)
                                                                        : std::next(it);
    }
  }
  return true;
}

}  // namespace inferline::gateway
