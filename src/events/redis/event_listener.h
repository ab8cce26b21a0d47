// EventListener: the one pub/sub connection of a RedisEventBus process. A thread of its own owns
// a dedicated Redis connection, PSUBSCRIBEs to every request's channel (events:*), and hands each
// event to on_event. After every (re)subscription it calls on_subscribed, so the bus can fetch
// from the streams whatever was published while it was not listening. A lost connection is
// reopened after a backoff, forever, until destruction.
//
// Thread-safety: constructed and destroyed by the owner; the callbacks run on the listener's
// thread, one at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "events/event.h"
#include "redis/redis_client.h"

namespace inferline::events {

class EventListener {
 public:
  using OnEvent = std::function<void(std::string_view request_id, const Event& event)>;
  EventListener(std::shared_ptr<redis::RedisClient> client, std::chrono::milliseconds backoff,
                OnEvent on_event, std::function<void()> on_subscribed);
  ~EventListener();
  EventListener(const EventListener&) = delete;
  EventListener& operator=(const EventListener&) = delete;

  bool subscribed() const { return subscribed_.load(); }

 private:
  void Run();
  // Listens on one connection until it fails or stop_ is set.
  void Listen(redis::RedisConnection& conn);

  std::shared_ptr<redis::RedisClient> client_;
  std::chrono::milliseconds backoff_;
  OnEvent on_event_;
  std::function<void()> on_subscribed_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::thread thread_;  // last: starts after everything above is initialised
};

// Parses a published "<id>\n<type>\n<data>"; false if malformed.
bool ParsePublished(std::string_view payload, Event* out);

}  // namespace inferline::events
