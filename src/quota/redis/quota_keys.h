// Key layout and window arithmetic of RedisQuotaLedger (pure functions, unit-tested without a
// server). Keys keep the names of the original system, so its dashboards and runbooks still
// apply (`redis-cli GET user:42:quota:daily:tokens:used`):
//
//   user:<id>:quota:{daily|monthly}:period              the UTC day / month the counters below
//                                                       belong to (days since 1970 / y*12+m-1)
//   user:<id>:quota:{daily|monthly}:{tokens|requests}:used      settled in that period
//   user:<id>:quota:{daily|monthly}:{tokens|requests}:reserved  held by outstanding reservations
//   user:<id>:quota:{daily|monthly}:{tokens|requests}:limit     the limit last applied (for
//                                                       dashboards; limits come from the caller)
//   user:<id>:quota:minute     hash, fields "<unix second>:{tokens|requests}:{used|reserved}":
//                              the sliding 60 s windows, one entry per second that saw usage;
//                              also total:{tokens|requests}:{used|reserved} (the sums of the
//                              live entries) and span:{oldest|newest} (the seconds of the
//                              oldest and newest entries), kept by the scripts and rebuilt
//                              from the entries when missing
//   user:<id>:quota:concurrent outstanding reservations
//   reservation:<request_id>   hash: user, tokens, requests, day, month, sec, created_ms
//   quota:reservations         set of the request ids of outstanding reservations
//
// Calendar keys are created with an expiry at the end of their period (computed from the
// caller's clock) and never refreshed; the stored period is what decides whether they count,
// so an expiry that comes late or early never changes a decision.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "quota/limits.h"

namespace inferline::quota::redis_keys {

inline constexpr std::string_view kReservationIndex = "quota:reservations";
inline constexpr int64_t kMinuteSeconds = 60;

std::string UserPrefix(std::string_view user_id);  // "user:<id>:quota:"
std::string ReservationKey(std::string_view request_id);

// The calendar periods of `now` and when they end, in the caller's clock (Unix milliseconds).
struct Periods {
  int64_t day = 0;
  int64_t month = 0;
  int64_t now_ms = 0;
  int64_t day_end_ms = 0;
  int64_t month_end_ms = 0;
};
Periods PeriodsAt(Time now);

int64_t UnixMillis(Time t);
// Floor division, so that times before 1970 fall into the right second.
int64_t UnixSecondOf(int64_t unix_ms);

// The sliding-window entries of the minute hash still inside the window at now_sec.
struct MinuteTotals {
  int64_t tokens_used = 0;
  int64_t tokens_reserved = 0;
  int64_t requests_used = 0;
  int64_t requests_reserved = 0;
  std::optional<int64_t> oldest_second;  // of the entries inside the window
};
// fields: HGETALL's name/value pairs. Entries with second <= now_sec - 60 are left out;
// malformed fields are ignored.
MinuteTotals SumMinute(const std::vector<std::pair<std::string, std::string>>& fields,
                       int64_t now_sec);

}  // namespace inferline::quota::redis_keys
