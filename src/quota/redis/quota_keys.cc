#include "quota/redis/quota_keys.h"

#include <charconv>

namespace inferline::quota::redis_keys {
namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string UserPrefix(std::string_view user_id) {
  std::string k = "user:";
  k.append(user_id);
  k.append(":quota:");
  return k;
}

std::string ReservationKey(std::string_view request_id) {
  std::string k = "reservation:";
  k.append(request_id);
  return k;
}

int64_t UnixMillis(Time t) {
  return std::chrono::floor<std::chrono::milliseconds>(t).time_since_epoch().count();
}

int64_t UnixSecondOf(int64_t unix_ms) {
  return unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
}

Periods PeriodsAt(Time now) {
  Periods p;
  p.day = UtcDay(now);
  p.month = UtcMonth(now);
  p.now_ms = UnixMillis(now);
  p.day_end_ms = UnixMillis(DayStart(p.day + 1));
  p.month_end_ms = UnixMillis(MonthStart(p.month + 1));
  return p;
}

MinuteTotals SumMinute(const std::vector<std::pair<std::string, std::string>>& fields,
                       int64_t now_sec) {
  MinuteTotals t;
  for (const auto& [name, value] : fields) {
    size_t colon = name.find(':');
    int64_t sec = 0, v = 0;
    if (colon == std::string::npos || !ParseInt(std::string_view(name).substr(0, colon), &sec) ||
        !ParseInt(value, &v)) {
      continue;
    }
    if (sec <= now_sec - kMinuteSeconds) continue;
    std::string_view what = std::string_view(name).substr(colon + 1);
    if (what == "tokens:used") t.tokens_used += v;
    else if (what == "tokens:reserved") t.tokens_reserved += v;
    else if (what == "requests:used") t.requests_used += v;
    else if (what == "requests:reserved") t.requests_reserved += v;
    else continue;
    if (!t.oldest_second || sec < *t.oldest_second) t.oldest_second = sec;
  }
  return t;
}

}  // namespace inferline::quota::redis_keys
