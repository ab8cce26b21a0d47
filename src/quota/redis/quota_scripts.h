// The Lua scripts of RedisQuotaLedger. Each runs atomically in Redis, so a reservation is
// checked against and charged to every window (day and month tokens and requests, the sliding
// minute's tokens and requests, concurrency) in one step, and a settlement moves it from
// reserved to used in the same windows, once. Key names: quota_keys.h.
//
// The time always comes from the caller (ARGV), never from Redis's clock: a gateway's clock
// decides windows, and tests inject time. Keys are derived inside the scripts from the user id
// (stored in the reservation for Settle), so they assume one Redis (or a primary with replicas),
// not Redis Cluster.
//
// kReserve  KEYS: reservation:<rid>, quota:reservations
//           ARGV: user, rid, tokens, requests, now_ms, day, month, day_end_ms, month_end_ms,
//                 then 7 limits in kAllWindows order (-1 = unlimited)
//           returns {1, usage} granted; {-1} the request already holds a reservation; or
//                   {0, window, limit, current, requested, retry_after_s, never_fits, usage}
//           usage: 14 numbers as strings, the windows after the grant (or as they stood):
//                   daily, monthly and minute {tokens used, tokens reserved, requests used,
//                   requests reserved}, concurrency, the minute's oldest second (-1: none),
//           so that the x-ratelimit-* headers need no second read
// kSettle   KEYS: reservation:<rid>, quota:reservations
//           ARGV: rid, actual_tokens, actual_requests (-1: as reserved), now_ms
//           returns 1 settled now, 0 unknown or already settled
//
// Thread-safety: constants.
#pragma once

#include <string_view>

namespace inferline::quota::redis_scripts {

extern const std::string_view kReserve;
extern const std::string_view kSettle;

}  // namespace inferline::quota::redis_scripts
