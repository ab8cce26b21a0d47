// Events of a request's lifecycle, as shown to SSE listeners: queued, started, token (one per
// generated piece of text), then exactly one terminal event (completed, failed, cancelled or
// expired). Each carries a per-request id (1, 2, 3, ...) assigned by the EventBus, which is the
// SSE `id:` a client sends back as Last-Event-ID, and a JSON `data` payload the bus does not
// interpret.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::events {

enum class EventType { kQueued, kStarted, kToken, kCompleted, kFailed, kCancelled, kExpired };

std::string_view EventTypeName(EventType t);
Result<EventType> ParseEventType(std::string_view s);
bool IsTerminal(EventType t);

struct Event {
  int64_t id = 0;
  EventType type = EventType::kQueued;
  std::string data;  // JSON
};

}  // namespace inferline::events
