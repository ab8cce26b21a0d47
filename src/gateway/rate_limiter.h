// RateLimiter: token buckets keyed by a string (a client IP, an API key id).
//
// Each key's bucket holds up to `burst` tokens and refills at `rate` per second; Allow() takes
// one token or says how long until one is available. The gateway uses one limiter for traffic
// that is not authenticated (no key, or a wrong one: per IP, so that guessing keys is slow and
// cheap to refuse) and one per API key (a cheap guard in front of the quota ledger).
//
// Memory is bounded: past max_keys, buckets that have refilled completely (idle clients) are
// dropped, and if that is not enough the whole map is cleared, which only ever errs towards
// allowing traffic.
//
// Thread-safety: every method may be called from any thread; mu_ guards buckets_. Never blocks
// beyond that mutex, so it may run on an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace inferline::gateway {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate <= 0 disables the limiter (Allow always succeeds).
  RateLimiter(double rate_per_second, double burst, size_t max_keys = 100'000);

  bool enabled() const { return rate_ > 0; }

  // Takes a token for `key`; false when none is left, with the wait until one is in
  // `retry_after` (at least one second, as Retry-After counts whole seconds).
  bool Allow(std::string_view key, Clock::time_point now, std::chrono::seconds* retry_after);

  size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  void Refill(Bucket& b, Clock::time_point now) const;
  void Evict(Clock::time_point now);

  double rate_;
  double burst_;
  size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

// Requests per user in a sliding minute, for endpoints that spend no token quota but are held
// to the plan's requests-per-minute limit (/tokenize, /detokenize). Kept in memory per gateway
// process: with several gateway replicas each applies the limit on its own.
//
// Thread-safety: every method may be called from any thread; mu_ guards recent_.
class SlidingMinuteCounter {
 public:
  using Clock = std::chrono::steady_clock;

  // Counts one request for `user` unless `limit` were reached in the last minute; then false,
  // with the wait until the oldest one leaves the window in `retry_after` (at least 1 s).
  bool Allow(const std::string& user, int64_t limit, Clock::time_point now,
             std::chrono::seconds* retry_after);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> recent_;  // guarded by mu_
};

}  // namespace inferline::gateway
