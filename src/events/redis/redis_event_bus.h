// RedisEventBus: the EventBus of the distributed deployment, shared by every gateway replica,
// worker and collector through one Redis (key layout and scripts: event_scripts.h).
//
// Publish is one Lua script: the next id of the request's stream, RPUSH to the capped list,
// refusal after the terminal event, the stream's expiry, and PUBLISH to the request's channel.
// Subscribe replays the stream after after_id (SSE Last-Event-ID), then delivers live events.
// Live events reach a subscriber two ways: events published through this bus instance are
// delivered on the publisher's thread before Publish returns (as the embedded bus does), and
// events published by other processes arrive through this process's one pub/sub connection
// (EventListener), which subscribes to a request's channel while this process has a subscriber
// for it, so a replica receives only the events someone in it follows. Every subscription
// delivers strictly in id order: an id already delivered is dropped, and a gap (an event not
// seen yet, e.g. published while the pub/sub connection was down) is filled from the stream
// first. When a channel's subscription takes effect, and after the listener reconnects, the
// subscriptions concerned catch up from the stream, so nothing published meanwhile is missed.
//
// Failure mode: when Redis is unreachable Publish, Subscribe and Describe return Unavailable;
// subscriptions stay registered and catch up when the listener is back.
//
// Thread-safety: every method may be called from any thread; calls block on the network. Each
// subscription's mutex is held while an event is delivered to it (ordering, no duplicates);
// State::mu guards the map of subscriptions and is never held while a callback runs.
#pragma once

#include <chrono>
#include <memory>

#include "events/event_bus.h"
#include "redis/redis_client.h"

namespace inferline::events {

struct RedisEventBusOptions {
  size_t max_events_per_stream = 4096;
  size_t max_event_bytes = 1 << 20;
  std::chrono::seconds retention{std::chrono::minutes(5)};  // after the terminal event
  std::chrono::seconds idle_ttl{std::chrono::hours(1)};      // after the last event
  std::chrono::milliseconds listener_backoff{500};
};

class EventListener;

class RedisEventBus final : public EventBus {
 public:
  RedisEventBus(std::shared_ptr<redis::RedisClient> client, RedisEventBusOptions options = {});
  ~RedisEventBus() override;

  Result<int64_t> Publish(std::string_view request_id, EventType type, std::string data) override;
  Result<SubscribeResult> Subscribe(std::string_view request_id, int64_t after_id,
                                    EventCallback callback,
                                    SubscribeOptions options = {}) override;
  Result<StreamInfo> Describe(std::string_view request_id) override;

  // True once the pub/sub connection is listening (for /readyz).
  bool listening() const;

  struct State;  // shared with subscription handles, which may outlive the bus

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<EventListener> listener_;
};

}  // namespace inferline::events
