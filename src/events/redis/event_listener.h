// EventListener: the one pub/sub connection of a RedisEventBus process. A thread of its own owns
// a dedicated Redis connection and SUBSCRIBEs to the channels of the requests this process has
// subscribers for (Want / Drop, from the bus), so a process gets only the events someone in it
// follows: not every event of every request, as a pattern subscription would give each replica.
// Each event goes to on_event. When a channel's subscription is confirmed, on_channel(rid)
// lets the bus fetch from the request's stream what was published before; after every
// (re)connection, once every wanted channel is subscribed again, on_subscribed does the same
// for all of them. A lost connection is reopened after a backoff, forever, until destruction.
//
// Thread-safety: constructed and destroyed by the owner; Want and Drop from any thread (never
// from a callback's thread while it holds a lock the callbacks take); the callbacks run on the
// listener's thread, one at a time, with mu_ not held.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "events/event.h"
#include "redis/redis_client.h"

namespace inferline::events {

class EventListener {
 public:
  using OnEvent = std::function<void(std::string_view request_id, const Event& event)>;
  using OnChannel = std::function<void(std::string_view request_id)>;
  EventListener(std::shared_ptr<redis::RedisClient> client, std::chrono::milliseconds backoff,
                OnEvent on_event, OnChannel on_channel, std::function<void()> on_subscribed);
  ~EventListener();
  EventListener(const EventListener&) = delete;
  EventListener& operator=(const EventListener&) = delete;

  // Start or stop listening to a request's channel. Idempotent.
  void Want(const std::string& request_id);
  void Drop(const std::string& request_id);

  // Connected, with every wanted channel subscribed as of the (re)connection.
  bool subscribed() const { return subscribed_.load(); }

 private:
  void Run();
  // Listens on one connection until it fails or stop_ is set.
  void Listen(redis::RedisConnection& conn);
  void Wake();

  std::shared_ptr<redis::RedisClient> client_;
  std::chrono::milliseconds backoff_;
  OnEvent on_event_;
  OnChannel on_channel_;
  std::function<void()> on_subscribed_;
  std::mutex mu_;                                      // guards wanted_ and changes_
  std::set<std::string> wanted_;                       // request ids
  std::vector<std::pair<bool, std::string>> changes_;  // {subscribe?, request id}, to send
  int wake_fds_[2] = {-1, -1};                         // Want/Drop write [1]; the thread polls [0]
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::thread thread_;  // last: starts after everything above is initialised
};

// Parses a published "<id>\n<type>\n<data>"; false if malformed.
bool ParsePublished(std::string_view payload, Event* out);

}  // namespace inferline::events
