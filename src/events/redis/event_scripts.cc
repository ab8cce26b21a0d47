#include "events/redis/event_scripts.h"

#include "events/redis/event_listener.h"

namespace inferline::events::redis_events {

std::string LogKey(std::string_view request_id) {
  std::string k = "eventlog:";
  k.append(request_id);
  return k;
}

std::string ChannelOf(std::string_view request_id) {
  std::string k = "events:";
  k.append(request_id);
  return k;
}

bool ParseStored(std::string_view element, Event* out) {
  // "<id>\n<final>\n<type>\n<data>": without the final flag it is the published form.
  size_t a = element.find('\n');
  if (a == std::string_view::npos || a + 2 >= element.size() || element[a + 2] != '\n') {
    return false;
  }
  if (element[a + 1] != '0' && element[a + 1] != '1') return false;
  std::string published(element.substr(0, a + 1));
  published.append(element.substr(a + 3));
  return ParsePublished(published, out);
}

const std::string_view kPublish = R"lua(
local last = redis.call('LINDEX', KEYS[1], -1)
local id = 1
if last then
  local nl = string.find(last, '\n', 1, true)
  if string.sub(last, nl + 1, nl + 1) == '1' then return 0 end
  id = tonumber(string.sub(last, 1, nl - 1)) + 1
end
local sid = string.format('%d', id)
local n = redis.call('RPUSH', KEYS[1], sid .. '\n' .. ARGV[2] .. '\n' .. ARGV[1] .. '\n' .. ARGV[3])
local max = tonumber(ARGV[4])
if n > max then redis.call('LTRIM', KEYS[1], n - max, -1) end
if ARGV[2] == '1' then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
else
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
redis.call('PUBLISH', KEYS[2], sid .. '\n' .. ARGV[1] .. '\n' .. ARGV[3])
return id
)lua";

const std::string_view kRead = R"lua(
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then return {} end
local last = redis.call('LINDEX', KEYS[1], -1)
local function id_of(e) return tonumber(string.sub(e, 1, string.find(e, '\n', 1, true) - 1)) end
local fid, lid = id_of(first), id_of(last)
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
if to <= 0 or to > lid then to = lid end
if from < fid then from = fid end
local range = {}
if from <= to then range = redis.call('LRANGE', KEYS[1], from - fid, to - fid) end
local nl = string.find(last, '\n', 1, true)
return {fid, lid, string.sub(last, nl + 1, nl + 1), range}
)lua";

}  // namespace inferline::events::redis_events
