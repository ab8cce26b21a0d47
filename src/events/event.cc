#include "events/event.h"

#include <fmt/format.h>

namespace inferline::events {

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kQueued: return "queued";
    case EventType::kStarted: return "started";
    case EventType::kToken: return "token";
    case EventType::kCompleted: return "completed";
    case EventType::kFailed: return "failed";
    case EventType::kCancelled: return "cancelled";
    case EventType::kExpired: return "expired";
  }
  return "unknown";
}

Result<EventType> ParseEventType(std::string_view s) {
  for (EventType t : {EventType::kQueued, EventType::kStarted, EventType::kToken,
                      EventType::kCompleted, EventType::kFailed, EventType::kCancelled,
                      EventType::kExpired}) {
    if (EventTypeName(t) == s) return t;
  }
  return InvalidArgument(fmt::format("unknown event type '{}'", s), "type");
}

bool IsTerminal(EventType t) {
  return t == EventType::kCompleted || t == EventType::kFailed || t == EventType::kCancelled ||
         t == EventType::kExpired;
}

}  // namespace inferline::events
