// Key layout and Lua scripts of RedisEventBus.
//
//   events:<request_id>   a stream capped at max_events_per_stream (XADD MAXLEN): entry ids are
//                         "0-<event id>" so XRANGE by event id needs no lookup; fields type,
//                         final ("1" on the terminal event), data. It expires `retention` after
//                         its terminal event, or `idle_ttl` after its last event.
//   channel events:<request_id>   every event is also PUBLISHed there, as "<id>\n<type>\n<data>";
//                         each bus process listens with one PSUBSCRIBE events:*.
//
// kPublish  KEYS: events:<rid>
//           ARGV: type, final (0/1), data, max_events, retention_s, idle_ttl_s
//           returns the new event's id, or 0 when the stream has already ended
// kRead     KEYS: events:<rid>
//           ARGV: first entry id to return ("0-<after_id + 1>")
//           returns {} when there is no stream, else
//                   {first entry id, last entry id, last final flag, entries from ARGV[1]}
//
// Thread-safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace inferline::events::redis_events {

inline constexpr std::string_view kChannelPattern = "events:*";

std::string StreamKey(std::string_view request_id);  // also the channel's name
std::string EntryId(int64_t event_id);                // "0-<id>"
// The event id of an entry id; -1 if malformed.
int64_t EventIdOf(std::string_view entry_id);

extern const std::string_view kPublish;
extern const std::string_view kRead;

}  // namespace inferline::events::redis_events
