#include "events/redis/event_scripts.h"

#include <charconv>

namespace inferline::events::redis_events {

std::string StreamKey(std::string_view request_id) {
  std::string k = "events:";
  k.append(request_id);
  return k;
}

std::string EntryId(int64_t event_id) { return "0-" + std::to_string(event_id); }

int64_t EventIdOf(std::string_view entry_id) {
  if (!entry_id.starts_with("0-")) return -1;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(entry_id.data() + 2, entry_id.data() + entry_id.size(), v);
  return ec == std::errc() && p == entry_id.data() + entry_id.size() ? v : -1;
}

const std::string_view kPublish = R"lua(
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = 1
if #last > 0 then
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'final' and fields[i + 1] == '1' then return 0 end
  end
  id = tonumber(string.sub(last[1][1], 3)) + 1
end
local sid = string.format('%d', id)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[4], '0-' .. sid, 'type', ARGV[1], 'final', ARGV[2],
           'data', ARGV[3])
if ARGV[2] == '1' then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
else
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
redis.call('PUBLISH', KEYS[1], sid .. '\n' .. ARGV[1] .. '\n' .. ARGV[3])
return id
)lua";

const std::string_view kRead = R"lua(
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first == 0 then return {} end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local final = '0'
local fields = last[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'final' then final = fields[i + 1] end
end
return {first[1][1], last[1][1], final, redis.call('XRANGE', KEYS[1], ARGV[1], '+')}
)lua";

}  // namespace inferline::events::redis_events
