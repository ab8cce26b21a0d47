// EventBus: per-request event streams with replay, behind SSE (GET /v1/requests/{id}/events).
// Implementations: events/local (embedded, in-process); a Redis one (pub/sub plus a capped
// stream per request) for the distributed deployment implements the same interface.
//
// Publish assigns the next id of the request's stream (1, 2, 3, ...). Subscribe(after_id)
// delivers every retained event with id > after_id, then live events, in id order, without gaps
// or duplicates, even while events are being published concurrently. A stream ends with its
// first terminal event; publishing after it fails with FailedPrecondition (e.g. a worker's
// `completed` racing a cancel: the first one wins, as in the store).
//
// Retention is bounded: a stream keeps its newest events up to a cap, and finished streams are
// forgotten some time after their terminal event. SubscribeResult says whether the replay was
// complete. History lives in memory (embedded) or in Redis with a TTL (distributed), so after a
// restart, an eviction, or for an old request, there may be none: the gateway checks Describe()
// / SubscribeResult and, when events are missing, synthesizes them from the stored request
// record (a terminal record becomes one terminal event carrying the stored output; a queued or
// running one gets a `queued`/`started` event, then live events). A request re-run after a
// crash starts a new stream at id 1.
//
// Callbacks: Subscribe runs the callback for replayed events on the caller's thread before it
// returns, and for live events on the publisher's thread, one event at a time per stream. A
// callback must be quick and must not block (hand the event to the connection's I/O thread); it
// must not publish or subscribe on the same request; it may destroy its own Subscription.
//
// Thread-safety: every method may be called from any thread. Embedded calls never block on I/O.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "events/event.h"

namespace inferline::events {

using EventCallback = std::function<void(const Event&)>;

// A live subscription; destroying (or Reset()ing) it unsubscribes. After that returns, the
// callback is not running and will not run again (unless it is the callback itself that
// destroys it, in which case the current call finishes).
class Subscription {
 public:
  // What an implementation's subscription does on destruction.
  class Handle {
   public:
    virtual ~Handle() = default;
  };

  Subscription() = default;
  explicit Subscription(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
  Subscription(Subscription&&) = default;
  Subscription& operator=(Subscription&&) = default;

  void Reset() { handle_.reset(); }
  bool active() const { return handle_ != nullptr; }

 private:
  std::unique_ptr<Handle> handle_;
};

struct SubscribeResult {
  Subscription subscription;
  // false when events after after_id were dropped from retention (or never seen here, e.g.
  // after a restart): the client cannot be brought fully up to date from the bus.
  bool replay_complete = true;
  int64_t last_id = 0;    // the stream's newest id when subscribing (0: no events yet)
  bool terminal = false;  // the stream had already ended (nothing live will follow)
};

struct StreamInfo {
  bool exists = false;  // the bus holds events for this request
  int64_t first_id = 0;  // oldest retained
  int64_t last_id = 0;
  bool terminal = false;
};

struct SubscribeOptions {
  // Only the terminal event is wanted (a non-streaming answer, a worker watching for a cancel):
  // the callback gets the terminal event alone, replayed or live, and the subscriber does not
  // count as following the stream live (HasLiveFollowers).
  bool terminal_only = false;
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Returns the event's id.
  [[nodiscard]] virtual Result<int64_t> Publish(std::string_view request_id, EventType type,
                                                std::string data) = 0;

  [[nodiscard]] virtual Result<SubscribeResult> Subscribe(std::string_view request_id,
                                                          int64_t after_id,
                                                          EventCallback callback,
                                                          SubscribeOptions options = {}) = 0;

  [[nodiscard]] virtual Result<StreamInfo> Describe(std::string_view request_id) = 0;
  // Whether a subscriber follows the request's non-terminal events live right now. A publisher
  // may hold `token` text back while nobody does and publish it, coalesced, with the next
  // token someone follows or before the terminal event: the history stays complete and in
  // order, only in fewer events. A bus that cannot tell (the distributed one: subscribers are
  // on other gateways) answers true. Not to be called from a callback of the same stream.
  virtual bool HasLiveFollowers(std::string_view request_id) {
    (void)request_id;
    return true;
  }
};

}  // namespace inferline::events
