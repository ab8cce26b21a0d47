// Plain types of the QuotaLedger seam (quota_ledger.h): the windows a user's usage is limited
// in, the limits per window, and what Reserve and Usage report.
//
// Windows: tokens and requests per UTC calendar day and month (they reset at 00:00 UTC and on the
// 1st of the month 00:00 UTC, not some time after first use), tokens and requests per sliding
// 60 seconds, and concurrent (reserved, not yet settled) requests.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::quota {

using Clock = std::chrono::system_clock;
using Time = Clock::time_point;

enum class Window {
  kConcurrentRequests,
  kMinuteRequests,
  kMinuteTokens,
  kDailyRequests,
  kDailyTokens,
  kMonthlyRequests,
  kMonthlyTokens,
};
inline constexpr std::array<Window, 7> kAllWindows = {
    Window::kConcurrentRequests, Window::kMinuteRequests, Window::kMinuteTokens,
    Window::kDailyRequests,      Window::kDailyTokens,    Window::kMonthlyRequests,
    Window::kMonthlyTokens};

// "concurrent_requests", "requests_per_minute", "tokens_per_minute", "requests_per_day",
// "tokens_per_day", "requests_per_month", "tokens_per_month".
std::string_view WindowName(Window w);
bool CountsTokens(Window w);

// Absent = unlimited.
struct Limits {
  std::optional<int64_t> concurrent_requests;
  std::optional<int64_t> requests_per_minute;
  std::optional<int64_t> tokens_per_minute;
  std::optional<int64_t> requests_per_day;
  std::optional<int64_t> tokens_per_day;
  std::optional<int64_t> requests_per_month;
  std::optional<int64_t> tokens_per_month;

  std::optional<int64_t> Get(Window w) const;
  void Set(Window w, std::optional<int64_t> v);
  Status Validate() const;  // every present limit >= 0
};

struct ReserveRequest {
  std::string user_id;
  std::string request_id;  // the reservation's key; Settle takes the same id
  int64_t tokens = 0;      // the most the request can cost: prompt + max_tokens
  int64_t requests = 1;
};

struct Exceeded {
  Window window = Window::kDailyTokens;
  int64_t limit = 0;
  int64_t current = 0;    // used + reserved in the window when refused
  int64_t requested = 0;
  // When a retry may succeed: the window's reset, or when enough sliding usage ages out.
  std::chrono::seconds retry_after{1};
  bool never_fits = false;  // requested > limit: no retry can succeed
};

// granted, or the window that refused (the one with the longest retry_after, so that a retry
// after that long is not refused by another window that was also full).
struct ReserveOutcome {
  bool granted = false;
  std::optional<Exceeded> exceeded;
};

struct WindowUsage {
  Window window = Window::kDailyTokens;
  std::optional<int64_t> limit;
  int64_t used = 0;      // settled
  int64_t reserved = 0;  // held by outstanding reservations
  std::optional<int64_t> remaining;  // max(0, limit - used - reserved); absent when unlimited
  // Calendar windows: the next boundary. Sliding windows: when the oldest usage in them ages
  // out (absent when empty). Concurrency: absent.
  std::optional<Time> resets_at;
};

// An outstanding reservation, as listed for startup recovery.
struct ReservationInfo {
  std::string request_id;
  std::string user_id;
  int64_t tokens = 0;
  int64_t requests = 0;
  Time created_at{};
};

// UTC calendar arithmetic.
int64_t UtcDay(Time t);    // days since 1970-01-01
int64_t UtcMonth(Time t);  // year * 12 + (month - 1)
Time DayStart(int64_t day);
Time MonthStart(int64_t month);

}  // namespace inferline::quota
