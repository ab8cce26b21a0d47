#include "events/redis/event_listener.h"

#include <charconv>

#include "common/log.h"
#include "events/redis/event_scripts.h"

namespace inferline::events {
namespace {

constexpr std::chrono::milliseconds kPoll{100};  // how often the thread checks stop_

}  // namespace

bool ParsePublished(std::string_view payload, Event* out) {
  size_t a = payload.find('\n');
  if (a == std::string_view::npos) return false;
  size_t b = payload.find('\n', a + 1);
  if (b == std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(payload.data(), payload.data() + a, out->id);
  if (ec != std::errc() || p != payload.data() + a || out->id < 1) return false;
  Result<EventType> type = ParseEventType(payload.substr(a + 1, b - a - 1));
  if (!type.ok()) return false;
  out->type = *type;
  out->data = std::string(payload.substr(b + 1));
  return true;
}

EventListener::EventListener(std::shared_ptr<redis::RedisClient> client,
                             std::chrono::milliseconds backoff, OnEvent on_event,
                             std::function<void()> on_subscribed)
    : client_(std::move(client)), backoff_(backoff), on_event_(std::move(on_event)),
      on_subscribed_(std::move(on_subscribed)), thread_([this] { Run(); }) {}

EventListener::~EventListener() {
  stop_.store(true);
  thread_.join();
}

void EventListener::Run() {
  bool logged = false;
  while (!stop_.load()) {
    Result<std::unique_ptr<redis::RedisConnection>> conn = client_->ConnectDedicated();
    if (conn.ok()) {
      logged = false;
      Listen(**conn);
    } else if (!logged) {
      log::Warn("event bus: cannot listen for events: {}", conn.status().ToString());
      logged = true;  // once per outage
    }
    subscribed_.store(false);
    for (auto waited = std::chrono::milliseconds(0); waited < backoff_ && !stop_.load();
         waited += kPoll) {
      std::this_thread::sleep_for(std::min(kPoll, backoff_));
    }
  }
}

void EventListener::Listen(redis::RedisConnection& conn) {
  if (Status st = conn.Append({"PSUBSCRIBE", std::string(redis_events::kChannelPattern)});
      !st.ok()) {
    return;
  }
  while (!stop_.load()) {
    Result<std::optional<redis::Reply>> got = conn.ReadPushed(kPoll);
    if (!got.ok()) {
      log::Warn("event bus: lost the pub/sub connection: {}", got.status().ToString());
      return;
    }
    if (!got->has_value()) continue;
    const redis::Reply& r = **got;
    if (r.elements.size() == 3 && r.elements[0].str == "psubscribe") {
      subscribed_.store(true);
      on_subscribed_();
      continue;
    }
    if (r.elements.size() != 4 || r.elements[0].str != "pmessage") continue;
    std::string_view channel = r.elements[2].str;
    if (!channel.starts_with("events:")) continue;
    Event e;
    if (!ParsePublished(r.elements[3].str, &e)) {
      log::Warn("event bus: ignoring a malformed message on {}", channel);
      continue;
    }
    on_event_(channel.substr(7), e);
  }
}

}  // namespace inferline::events
