#include "quota/limits.h"

#include <fmt/format.h>

namespace inferline::quota {

std::string_view WindowName(Window w) {
  switch (w) {
    case Window::kConcurrentRequests: return "concurrent_requests";
    case Window::kMinuteRequests: return "requests_per_minute";
    case Window::kMinuteTokens: return "tokens_per_minute";
    case Window::kDailyRequests: return "requests_per_day";
    case Window::kDailyTokens: return "tokens_per_day";
    case Window::kMonthlyRequests: return "requests_per_month";
    case Window::kMonthlyTokens: return "tokens_per_month";
  }
  return "unknown";
}

bool CountsTokens(Window w) {
  return w == Window::kMinuteTokens || w == Window::kDailyTokens || w == Window::kMonthlyTokens;
}

std::optional<int64_t> Limits::Get(Window w) const {
  switch (w) {
    case Window::kConcurrentRequests: return concurrent_requests;
    case Window::kMinuteRequests: return requests_per_minute;
    case Window::kMinuteTokens: return tokens_per_minute;
    case Window::kDailyRequests: return requests_per_day;
    case Window::kDailyTokens: return tokens_per_day;
    case Window::kMonthlyRequests: return requests_per_month;
    case Window::kMonthlyTokens: return tokens_per_month;
  }
  return std::nullopt;
}

void Limits::Set(Window w, std::optional<int64_t> v) {
  switch (w) {
    case Window::kConcurrentRequests: concurrent_requests = v; break;
    case Window::kMinuteRequests: requests_per_minute = v; break;
    case Window::kMinuteTokens: tokens_per_minute = v; break;
    case Window::kDailyRequests: requests_per_day = v; break;
    case Window::kDailyTokens: tokens_per_day = v; break;
    case Window::kMonthlyRequests: requests_per_month = v; break;
    case Window::kMonthlyTokens: tokens_per_month = v; break;
  }
}

Status Limits::Validate() const {
  for (Window w : kAllWindows) {
    std::optional<int64_t> v = Get(w);
    if (v && *v < 0) {
      return InvalidArgument(fmt::format("limit {} must be >= 0", WindowName(w)),
                             std::string(WindowName(w)));
    }
  }
  return Status::Ok();
}

int64_t UtcDay(Time t) {
  return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}

int64_t UtcMonth(Time t) {
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return static_cast<int64_t>(static_cast<int>(ymd.year())) * 12 +
         static_cast<int64_t>(static_cast<unsigned>(ymd.month())) - 1;
}

Time DayStart(int64_t day) {
  return Time(std::chrono::days(day));
}

Time MonthStart(int64_t month) {
  int64_t year = month >= 0 ? month / 12 : (month - 11) / 12;
  unsigned m = static_cast<unsigned>(month - year * 12) + 1;
  std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(year)), std::chrono::month(m),
                                  std::chrono::day(1)};
  return Time(std::chrono::sys_days(ymd).time_since_epoch());
}

}  // namespace inferline::quota
