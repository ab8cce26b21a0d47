#include "events/redis/event_listener.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

#include "common/log.h"
#include "common/thread_name.h"
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
                             OnChannel on_channel, std::function<void()> on_subscribed)
    : client_(std::move(client)), backoff_(backoff), on_event_(std::move(on_event)),
      on_channel_(std::move(on_channel)), on_subscribed_(std::move(on_subscribed)) {
  // Without the pipe, Want and Drop still reach the server, at the next kPoll.
  if (::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) wake_fds_[0] = wake_fds_[1] = -1;
  thread_ = std::thread([this] {
    NameThisThread("redis-events");
    Run();
  });
}

EventListener::~EventListener() {
  stop_.store(true);
  Wake();
  thread_.join();
  for (int fd : wake_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

void EventListener::Wake() {
  if (wake_fds_[1] < 0) return;
  char c = 1;
  (void)!::write(wake_fds_[1], &c, 1);
}

void EventListener::Want(const std::string& request_id) {
  {
    std::lock_guard lock(mu_);
    if (!wanted_.insert(request_id).second) return;
    changes_.emplace_back(true, request_id);
  }
  Wake();
}

void EventListener::Drop(const std::string& request_id) {
  {
    std::lock_guard lock(mu_);
    if (wanted_.erase(request_id) == 0) return;
    changes_.emplace_back(false, request_id);
  }
  Wake();
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
  // Every wanted channel again (a new connection has none), then a PING: its answer comes
  // after every SUBSCRIBE's, so from then on nothing wanted is missed.
  std::vector<std::string> all;
  {
    std::lock_guard lock(mu_);
    changes_.clear();
    all.assign(wanted_.begin(), wanted_.end());
  }
  constexpr size_t kPerCommand = 1000;
  for (size_t i = 0; i < all.size(); i += kPerCommand) {
    std::vector<std::string> cmd{"SUBSCRIBE"};
    for (size_t j = i; j < std::min(all.size(), i + kPerCommand); ++j) {
      cmd.push_back(redis_events::ChannelOf(all[j]));
    }
    if (!conn.Append(cmd).ok()) return;
  }
  if (!conn.Append({"PING"}).ok()) return;
  while (!stop_.load()) {
    std::vector<std::pair<bool, std::string>> changes;
    {
      std::lock_guard lock(mu_);
      changes.swap(changes_);
    }
    for (const auto& [subscribe, rid] : changes) {
      if (!conn.Append({subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", redis_events::ChannelOf(rid)})
               .ok()) {
        return;
      }
    }
    Result<std::optional<redis::Reply>> got = conn.ReadPushed(kPoll, wake_fds_[0]);
    if (!got.ok()) {
      log::Warn("event bus: lost the pub/sub connection: {}", got.status().ToString());
      return;
    }
    if (!got->has_value()) {
      char drain[64];
      while (wake_fds_[0] >= 0 && ::read(wake_fds_[0], drain, sizeof drain) > 0) {
      }
      continue;
    }
    const redis::Reply& r = **got;
    // PING answers "pong" in an array once the connection has a subscription, PONG before.
    const bool pong = (r.elements.empty() && r.str == "PONG") ||
                      (!r.elements.empty() && r.elements[0].str == "pong");
    if (pong) {
      subscribed_.store(true);
      on_subscribed_();
      continue;
    }
    if (r.elements.size() < 2) continue;
    const std::string& kind = r.elements[0].str;
    std::string_view channel = r.elements[1].str;
    if (!channel.starts_with("events:")) continue;
    std::string_view rid = channel.substr(7);
    if (kind == "subscribe") {
      // A channel added while connected: what was published before it took effect.
      if (subscribed_.load()) on_channel_(rid);
      continue;
    }
    if (kind != "message" || r.elements.size() != 3) continue;
    Event e;
    if (!ParsePublished(r.elements[2].str, &e)) {
      log::Warn("event bus: ignoring a malformed message on {}", channel);
      continue;
    }
    on_event_(rid, e);
  }
}

}  // namespace inferline::events
