// LocalEventBus: the in-process EventBus of the embedded deployment.
//
// Each request has a stream: its retained events (the newest max_events_per_stream), its
// subscribers, and a mutex that is held while an event is appended and handed to every
// subscriber; Subscribe replays under the same mutex before registering. That one lock per
// stream is what makes delivery gap-free, duplicate-free and ordered under concurrent
// publish/subscribe, while different requests never contend.
//
// Memory is bounded: a finished stream (terminal event published) is dropped `retention` after
// its end, and at most max_finished_streams are kept (oldest dropped first); an unfinished
// stream with no event and no subscriber for idle_timeout is dropped too (its request died with
// a previous process). A stream that nobody published to is dropped when its last subscriber
// leaves.
//
// Thread-safety: every method may be called from any thread. State::map_mu guards the stream
// map and the finished list; each stream's own mutex guards that stream. Code holding map_mu
// only ever try-locks a stream's mutex, so the two cannot deadlock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "events/event_bus.h"

namespace inferline::events {

struct LocalEventBusOptions {
  size_t max_events_per_stream = 4096;
  size_t max_finished_streams = 1000;
  size_t max_event_bytes = 1 << 20;
  std::chrono::milliseconds retention{std::chrono::minutes(5)};
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

class LocalEventBus final : public EventBus {
 public:
  explicit LocalEventBus(LocalEventBusOptions options = {});
  ~LocalEventBus() override;

  Result<int64_t> Publish(std::string_view request_id, EventType type, std::string data) override;
  Result<SubscribeResult> Subscribe(std::string_view request_id, int64_t after_id,
                                    EventCallback callback,
                                    SubscribeOptions options = {}) override;
  Result<StreamInfo> Describe(std::string_view request_id) override;
  bool HasLiveFollowers(std::string_view request_id) override;

  // Streams currently held (for tests and a gauge).
  size_t stream_count() const;

  struct State;  // shared with subscription handles, which may outlive the bus

 private:
  std::shared_ptr<State> state_;
};

}  // namespace inferline::events
