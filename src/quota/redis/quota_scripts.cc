#include "quota/redis/quota_scripts.h"

namespace inferline::quota::redis_scripts {

// Lua 5.1 numbers are doubles: exact for every amount below 2^53. Integers go back to Redis
// through string.format('%d') (tostring would switch to exponent notation past 1e14).
const std::string_view kReserve = R"lua(
local user, rid = ARGV[1], ARGV[2]
local want_t, want_r = tonumber(ARGV[3]), tonumber(ARGV[4])
local now_ms = tonumber(ARGV[5])
local day, month = ARGV[6], ARGV[7]
local day_end_ms, month_end_ms = tonumber(ARGV[8]), tonumber(ARGV[9])
local limits = {}
for i = 1, 7 do limits[i] = tonumber(ARGV[9 + i]) end
local function s(n) return string.format('%d', n) end

if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local p = 'user:' .. user .. ':quota:'
local now_sec = math.floor(now_ms / 1000)

-- Every counter in one read: per calendar kind its period, used and reserved tokens and
-- requests, and the limits last written; then the concurrency count.
local dk, mok = p .. 'daily', p .. 'monthly'
local v = redis.call('MGET',
  dk .. ':period', dk .. ':tokens:used', dk .. ':tokens:reserved', dk .. ':requests:used',
  dk .. ':requests:reserved', dk .. ':tokens:limit', dk .. ':requests:limit',
  mok .. ':period', mok .. ':tokens:used', mok .. ':tokens:reserved', mok .. ':requests:used',
  mok .. ':requests:reserved', mok .. ':tokens:limit', mok .. ':requests:limit',
  p .. 'concurrent')
-- Calendar windows: the stored counters count only if they belong to this period (or a later
-- one, if the caller's clock stepped back).
local function calendar(kind, period, end_ms, at)
  local c = {key = p .. kind, period = period, end_ms = end_ms, fresh = true,
             tu = 0, tr = 0, ru = 0, rr = 0, tl = v[at + 5], rl = v[at + 6]}
  local stored = v[at]
  if stored and tonumber(stored) >= tonumber(period) then
    c.period, c.fresh = stored, false
    c.tu, c.tr = tonumber(v[at + 1]) or 0, tonumber(v[at + 2]) or 0
    c.ru, c.rr = tonumber(v[at + 3]) or 0, tonumber(v[at + 4]) or 0
  end
  return c
end
local d = calendar('daily', day, day_end_ms, 1)
local m = calendar('monthly', month, month_end_ms, 8)
local concurrent = tonumber(v[15]) or 0

-- The sliding minute. Besides one entry per second, the hash keeps running totals of its live
-- entries and the seconds of its oldest and newest entries, so that a reservation reads them
-- and visits only the seconds that aged out since the last one (summing the whole hash cost 5x
-- the rest of this script at 60 busy seconds). They are rebuilt from the entries when missing.
local mk = p .. 'minute'
local cutoff = now_sec - 60  -- entries at or before it are out of the window
local function split(f)
  local colon = string.find(f, ':', 1, true)
  if not colon then return nil end
  return tonumber(string.sub(f, 1, colon - 1)), string.sub(f, colon + 1)
end
-- Every live entry, totalled per second and in order (for a refusal's Retry-After).
local function per_second()
  local flat = redis.call('HGETALL', mk)
  local secs, order = {}, {}
  for i = 1, #flat, 2 do
    local sec, what = split(flat[i])
    if sec and sec > cutoff then
      local e = secs[sec]
      if not e then
        e = {t = 0, r = 0}
        secs[sec] = e
        order[#order + 1] = sec
      end
      local n = tonumber(flat[i + 1])
      if string.sub(what, 1, 1) == 't' then e.t = e.t + n else e.r = e.r + n end
    end
  end
  table.sort(order)
  return secs, order
end
local function fields_of(sec)
  return {sec .. ':tokens:used', sec .. ':tokens:reserved', sec .. ':requests:used',
          sec .. ':requests:reserved'}
end
local h = redis.call('HMGET', mk, 'span:oldest', 'span:newest', 'total:tokens:used',
                     'total:tokens:reserved', 'total:requests:used', 'total:requests:reserved')
local oldest, newest = tonumber(h[1]), tonumber(h[2])
local mt = {tonumber(h[3]), tonumber(h[4]), tonumber(h[5]), tonumber(h[6])}  -- tu, tr, ru, rr
local moved = true  -- whether the stored totals and span must be rewritten (a refusal too)
if not (oldest and newest and mt[1] and mt[2] and mt[3] and mt[4]) or newest - oldest > 600 then
  -- No totals (a new hash, or one from before them): rebuild them, dropping what aged out.
  local flat = redis.call('HGETALL', mk)
  local stale = {}
  local index = {['tokens:used'] = 1, ['tokens:reserved'] = 2, ['requests:used'] = 3,
                 ['requests:reserved'] = 4}
  mt, oldest, newest = {0, 0, 0, 0}, nil, nil
  for i = 1, #flat, 2 do
    local sec, what = split(flat[i])
    if sec and sec > cutoff and index[what] then
      mt[index[what]] = mt[index[what]] + tonumber(flat[i + 1])
      if not oldest or sec < oldest then oldest = sec end
      if not newest or sec > newest then newest = sec end
    elseif sec and sec <= cutoff then
      stale[#stale + 1] = flat[i]
    end
  end
  if #stale > 0 then redis.call('HDEL', mk, unpack(stale)) end
elseif newest <= cutoff then
  -- Every entry aged out.
  redis.call('DEL', mk)
  mt, oldest, newest = {0, 0, 0, 0}, nil, nil
elseif oldest <= cutoff then
  -- Retire the seconds that aged out, then move `oldest` up to the next second with entries:
  -- `oldest` only grows, so each second is visited once.
  local sec = oldest
  oldest = nil
  while sec <= newest do
    local f = fields_of(sec)
    local e = redis.call('HMGET', mk, unpack(f))
    if e[1] or e[2] or e[3] or e[4] then
      if sec > cutoff then
        oldest = sec
        break
      end
      for i = 1, 4 do mt[i] = mt[i] - (tonumber(e[i]) or 0) end
      redis.call('HDEL', mk, unpack(f))
    end
    sec = sec + 1
  end
else
  moved = false
end
local function store_totals(first, last)
  if first then
    redis.call('HSET', mk, 'span:oldest', s(first), 'span:newest', s(last),
               'total:tokens:used', s(mt[1]), 'total:tokens:reserved', s(mt[2]),
               'total:requests:used', s(mt[3]), 'total:requests:reserved', s(mt[4]))
  else
    redis.call('HDEL', mk, 'span:oldest', 'span:newest', 'total:tokens:used',
               'total:tokens:reserved', 'total:requests:used', 'total:requests:reserved')
  end
end
if moved then store_totals(oldest, newest) end
local minute_t, minute_r = mt[1] + mt[2], mt[3] + mt[4]

-- The windows as they stand (after a grant: with it), for the x-ratelimit-* headers.
local function usage()
  return {s(d.tu), s(d.tr), s(d.ru), s(d.rr), s(m.tu), s(m.tr), s(m.ru), s(m.rr),
          s(mt[1]), s(mt[2]), s(mt[3]), s(mt[4]), s(concurrent), s(oldest or -1)}
end

-- Seconds until `need` more fits under `limit` as the oldest entries age out.
local function until_fits(tokens, need, limit)
  local secs, order = per_second()
  local remaining = tokens and minute_t or minute_r
  for _, sec in ipairs(order) do
    remaining = remaining - (tokens and secs[sec].t or secs[sec].r)
    if remaining + need <= limit then return math.max(1, sec + 60 - now_sec) end
  end
  return 1
end

local worst = nil
local function consider(w, current, requested, retry)
  local limit = limits[w + 1]
  if limit < 0 or current + requested <= limit then return end
  local never = requested > limit
  if w == 1 or w == 2 then
    if never then retry = 60 else retry = until_fits(w == 2, requested, limit) end
  end
  if not worst or (never and not worst.never) or
     (never == worst.never and retry > worst.retry) then
    worst = {w = w, limit = limit, current = current, requested = requested, retry = retry,
             never = never}
  end
end
local function calendar_retry(c) return math.max(1, math.ceil((c.end_ms - now_ms) / 1000)) end
consider(0, concurrent, 1, 1)
consider(1, minute_r, want_r, 1)
consider(2, minute_t, want_t, 1)
consider(3, d.ru + d.rr, want_r, calendar_retry(d))
consider(4, d.tu + d.tr, want_t, calendar_retry(d))
consider(5, m.ru + m.rr, want_r, calendar_retry(m))
consider(6, m.tu + m.tr, want_t, calendar_retry(m))
if worst then
  return {0, worst.w, s(worst.limit), s(worst.current), s(worst.requested), worst.retry,
          worst.never and 1 or 0, usage()}
end

-- Granted: charge every window.
local function charge(c, tokens_limit, requests_limit)
  local k = c.key
  local ttl = nil  -- of the period's keys, read only if a limit key must be written
  if c.fresh then
    -- A new period: its keys end at the period's boundary, never refreshed.
    ttl = math.max(1, c.end_ms - now_ms)
    redis.call('SET', k .. ':period', c.period, 'PX', s(ttl))
    redis.call('SET', k .. ':tokens:used', 0, 'PX', s(ttl))
    redis.call('SET', k .. ':tokens:reserved', s(want_t), 'PX', s(ttl))
    redis.call('SET', k .. ':requests:used', 0, 'PX', s(ttl))
    redis.call('SET', k .. ':requests:reserved', s(want_r), 'PX', s(ttl))
    c.tl, c.rl = nil, nil
  else
    redis.call('INCRBY', k .. ':tokens:reserved', s(want_t))
    redis.call('INCRBY', k .. ':requests:reserved', s(want_r))
  end
  c.tr, c.rr = c.tr + want_t, c.rr + want_r
  for _, l in ipairs({{'tokens', tokens_limit, c.tl}, {'requests', requests_limit, c.rl}}) do
    if l[2] >= 0 and l[3] ~= s(l[2]) then
      if not ttl then ttl = redis.call('PTTL', k .. ':period') end
      if ttl > 0 then redis.call('SET', k .. ':' .. l[1] .. ':limit', s(l[2]), 'PX', s(ttl)) end
    end
  end
end
charge(d, limits[5], limits[4])
charge(m, limits[7], limits[6])
-- Entries go to the newest second so far if this gateway's clock is behind it: seconds only grow.
local sec = now_sec
if newest and newest > sec then sec = newest end
redis.call('HINCRBY', mk, sec .. ':tokens:reserved', s(want_t))
redis.call('HINCRBY', mk, sec .. ':requests:reserved', s(want_r))
mt[2], mt[4] = mt[2] + want_t, mt[4] + want_r
if not oldest then oldest = sec end
store_totals(oldest, sec)
redis.call('PEXPIRE', mk, 120000)
concurrent = redis.call('INCR', p .. 'concurrent')
redis.call('HSET', KEYS[1], 'user', user, 'tokens', s(want_t), 'requests', s(want_r),
           'day', d.period, 'month', m.period, 'sec', s(sec), 'created_ms', s(now_ms))
redis.call('SADD', KEYS[2], rid)
return {1, usage()}
)lua";

const std::string_view kSettle = R"lua(
local r = redis.call('HMGET', KEYS[1], 'user', 'tokens', 'requests', 'day', 'month', 'sec')
if not r[1] then return 0 end
local function s(n) return string.format('%d', n) end
local p = 'user:' .. r[1] .. ':quota:'
local rt, rr = tonumber(r[2]), tonumber(r[3])
local at, ar = tonumber(ARGV[2]), tonumber(ARGV[3])
if ar < 0 then ar = rr end
local now_sec = math.floor(tonumber(ARGV[4]) / 1000)

-- Calendar windows: only the period the reservation was charged to (a settlement after the
-- boundary leaves the new period alone).
for kind, period in pairs({daily = r[4], monthly = r[5]}) do
  local k = p .. kind
  if redis.call('GET', k .. ':period') == period then
    redis.call('DECRBY', k .. ':tokens:reserved', s(rt))
    redis.call('INCRBY', k .. ':tokens:used', s(at))
    redis.call('DECRBY', k .. ':requests:reserved', s(rr))
    redis.call('INCRBY', k .. ':requests:used', s(ar))
  end
end

-- The sliding minute: the entry it was charged to, if it is still in the window.
local sec = tonumber(r[6])
local mk = p .. 'minute'
if sec > now_sec - 60 and redis.call('HEXISTS', mk, sec .. ':tokens:reserved') == 1 then
  redis.call('HINCRBY', mk, sec .. ':tokens:reserved', s(-rt))
  redis.call('HINCRBY', mk, sec .. ':tokens:used', s(at))
  redis.call('HINCRBY', mk, sec .. ':requests:reserved', s(-rr))
  redis.call('HINCRBY', mk, sec .. ':requests:used', s(ar))
  if redis.call('HEXISTS', mk, 'span:oldest') == 1 then
    redis.call('HINCRBY', mk, 'total:tokens:reserved', s(-rt))
    redis.call('HINCRBY', mk, 'total:tokens:used', s(at))
    redis.call('HINCRBY', mk, 'total:requests:reserved', s(-rr))
    redis.call('HINCRBY', mk, 'total:requests:used', s(ar))
  end
end

if redis.call('DECR', p .. 'concurrent') <= 0 then redis.call('DEL', p .. 'concurrent') end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
)lua";

}  // namespace inferline::quota::redis_scripts
