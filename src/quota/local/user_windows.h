// The per-user window state of LocalQuotaLedger: counters for the current UTC day and month, a
// sliding 60-second window kept as one entry per second that saw usage, and the number of
// outstanding reservations (concurrency). Every operation is O(1) amortised (the sliding window
// holds at most 60 entries).
//
// Thread-safety: none; LocalQuotaLedger guards every instance with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>

namespace inferline::quota {

struct Amount {
  int64_t tokens = 0;
  int64_t requests = 0;
  int64_t Of(bool tokens_kind) const { return tokens_kind ? tokens : requests; }
  Amount& operator+=(const Amount& o) {
    tokens += o.tokens;
    requests += o.requests;
    return *this;
  }
  Amount& operator-=(const Amount& o) {
    tokens -= o.tokens;
    requests -= o.requests;
    return *this;
  }
};

// One UTC day or month: what was settled in it and what outstanding reservations hold.
struct CalendarWindow {
  int64_t period = std::numeric_limits<int64_t>::min();
  Amount settled;
  Amount reserved;
  // Moves to `p` when it is later (a new day or month starts empty).
  void Roll(int64_t p) {
    if (p > period) {
      period = p;
      settled = {};
      reserved = {};
    }
  }
};

class MinuteWindow {
 public:
  static constexpr int64_t kSeconds = 60;

  // Forgets usage from seconds <= now_sec - 60.
  void Prune(int64_t now_sec);
  // Charges a reservation at `sec` (or at the newest entry, if the clock stepped back); returns
  // the second it was charged to, which Settle needs.
  int64_t Reserve(int64_t sec, const Amount& a);
  // Turns a reservation charged at `sec` into its actual cost, if it is still in the window.
  void Settle(int64_t sec, const Amount& reserved, const Amount& actual);

  Amount settled() const { return settled_; }
  Amount reserved() const { return reserved_; }
  int64_t Total(bool tokens_kind) const { return settled_.Of(tokens_kind) + reserved_.Of(tokens_kind); }
  // Seconds from now_sec until `need` more fits under `limit` as usage ages out (at least 1).
  // Call only when it does not fit now and need <= limit.
  int64_t SecondsUntilFits(bool tokens_kind, int64_t need, int64_t limit, int64_t now_sec) const;
  // The second the oldest usage ages out, if any.
  bool empty() const { return entries_.empty(); }
  int64_t OldestExpiry() const { return entries_.front().second + kSeconds; }

 private:
  struct Entry {
    int64_t second;
    Amount settled;
    Amount reserved;
  };
  std::deque<Entry> entries_;  // ascending seconds
  Amount settled_;
  Amount reserved_;
};

struct UserWindows {
  CalendarWindow day;
  CalendarWindow month;
  MinuteWindow minute;
  int64_t concurrent = 0;
};

}  // namespace inferline::quota
