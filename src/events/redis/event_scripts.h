// Key layout and Lua scripts of RedisEventBus.
//
//   eventlog:<request_id>  a list capped at max_events_per_stream (RPUSH, then LTRIM of the
//                          oldest), one element per event: "<id>\n<final>\n<type>\n<data>",
//                          final "1" on the terminal event. Ids are consecutive, so the element
//                          of id N sits at index N - (first id): a range by id is one LRANGE.
//                          It expires `retention` after its terminal event, or `idle_ttl` after
//                          its last event.
//   channel events:<request_id>   every event is also PUBLISHed there, as "<id>\n<type>\n<data>";
//                          a bus process SUBSCRIBEs to the channels of the requests it has
//                          subscribers for (EventListener).
//
// A list rather than a Redis stream: a new stream preallocates a 4 KiB node, so the first XADD
// of each request cost 17 us and 4 KiB of memory against 1.3 us and ~250 bytes for RPUSH
// (Redis 7.0, 20,000 new keys), and every request makes a new one.
//
// kPublish  KEYS: eventlog:<rid>, events:<rid> (the channel)
//           ARGV: type, final (0/1), data, max_events, retention_s, idle_ttl_s
//           returns the new event's id, or 0 when the stream has already ended
// kRead     KEYS: eventlog:<rid>
//           ARGV: first event id to return, last event id to return (0: the newest)
//           returns {} when there is no stream, else
//                   {first id, last id, last final flag ("0"/"1"), elements in the range}
//
// Thread-safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event_bus.h"

namespace inferline::events::redis_events {

std::string LogKey(std::string_view request_id);      // eventlog:<rid>
std::string ChannelOf(std::string_view request_id);   // events:<rid>
// A stored element as an Event; false if malformed.
bool ParseStored(std::string_view element, Event* out);

extern const std::string_view kPublish;
extern const std::string_view kRead;

}  // namespace inferline::events::redis_events
