#include "events/local/local_event_bus.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace inferline::events {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Subscriber {
  EventCallback callback;
  bool terminal_only = false;
  std::atomic<bool> active{true};

  void Offer(const Event& e) const {
    if (active.load() && (!terminal_only || IsTerminal(e.type))) callback(e);
  }
};

struct Stream {
  std::mutex mu;  // guards everything below; held while delivering
  std::deque<Event> history;
  int64_t next_id = 1;
  bool terminal = false;
  SteadyTime last_activity{};
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  // The thread delivering events right now, so that a callback destroying its own subscription
  // does not wait for the lock its own thread holds.
  std::atomic<std::thread::id> delivering{};

  void Deliver(const Event& e) {
    delivering.store(std::this_thread::get_id());
    for (const auto& s : subscribers) s->Offer(e);
    delivering.store(std::thread::id());
    std::erase_if(subscribers, [](const auto& s) { return !s->active.load(); });
  }
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct LocalEventBus::State {
  explicit State(LocalEventBusOptions o) : options(std::move(o)) {}

  std::shared_ptr<Stream> Find(std::string_view id) {
    std::lock_guard lock(map_mu);
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second;
  }

  std::shared_ptr<Stream> FindOrCreate(std::string_view id) {
    std::lock_guard lock(map_mu);
    auto it = streams.find(id);
    if (it != streams.end()) return it->second;
    auto s = std::make_shared<Stream>();
    s->last_activity = options.now();
    streams.emplace(std::string(id), s);
    return s;
  }

  // Drops finished streams past retention or over the cap, and idle unfinished ones.
  void Sweep() {
    SteadyTime now = options.now();
    std::lock_guard lock(map_mu);
    while (!finished.empty() && (finished.size() > options.max_finished_streams ||
                                 now - finished.front().first >= options.retention)) {
      streams.erase(finished.front().second);
      finished.pop_front();
    }
    if (now - last_idle_sweep < options.idle_timeout / 4) return;
    last_idle_sweep = now;
    std::erase_if(streams, [&](const auto& kv) {
      std::unique_lock slock(kv.second->mu, std::try_to_lock);
      return slock.owns_lock() && !kv.second->terminal && kv.second->subscribers.empty() &&
             now - kv.second->last_activity >= options.idle_timeout;
    });
  }

  void MarkFinished(const std::string& id) {
    {
      std::lock_guard lock(map_mu);
      finished.emplace_back(options.now(), id);
    }
    Sweep();
  }

  // Removes a stream that never had an event once nobody listens to it.
  void DropIfUnused(const std::string& id, const std::shared_ptr<Stream>& stream) {
    std::lock_guard lock(map_mu);
    auto it = streams.find(id);
    if (it == streams.end() || it->second != stream) return;
    std::unique_lock slock(stream->mu, std::try_to_lock);
    if (slock.owns_lock() && stream->history.empty() && stream->subscribers.empty()) {
      streams.erase(it);
    }
  }

  const LocalEventBusOptions options;
  mutable std::mutex map_mu;  // guards streams, finished, last_idle_sweep
  std::unordered_map<std::string, std::shared_ptr<Stream>, StringHash, std::equal_to<>> streams;
  std::deque<std::pair<SteadyTime, std::string>> finished;
  SteadyTime last_idle_sweep{};
};

namespace {

class LocalHandle final : public Subscription::Handle {
 public:
  LocalHandle(std::weak_ptr<LocalEventBus::State> state, std::string id,
              std::shared_ptr<Stream> stream, std::shared_ptr<Subscriber> sub)
      : state_(std::move(state)), id_(std::move(id)), stream_(std::move(stream)),
        sub_(std::move(sub)) {}

  ~LocalHandle() override {
    sub_->active.store(false);
    if (stream_->delivering.load() == std::this_thread::get_id()) return;  // from its callback
    {
      // Waits for a delivery in progress, after which the callback never runs again.
      std::lock_guard lock(stream_->mu);
      std::erase(stream_->subscribers, sub_);
    }
    if (auto state = state_.lock()) state->DropIfUnused(id_, stream_);
  }

 private:
  std::weak_ptr<LocalEventBus::State> state_;
  std::string id_;
  std::shared_ptr<Stream> stream_;
  std::shared_ptr<Subscriber> sub_;
};

Status ValidateId(std::string_view request_id) {
  if (request_id.empty() || request_id.size() > 256) {
    return InvalidArgument("request id must be 1..256 characters", "request_id");
  }
  return Status::Ok();
}

}  // namespace

LocalEventBus::LocalEventBus(LocalEventBusOptions options)
    : state_(std::make_shared<State>(std::move(options))) {}

LocalEventBus::~LocalEventBus() = default;

Result<int64_t> LocalEventBus::Publish(std::string_view request_id, EventType type,
                                       std::string data) {
  RETURN_IF_ERROR(ValidateId(request_id));
  if (data.size() > state_->options.max_event_bytes) {
    return InvalidArgument(fmt::format("event data of {} bytes is over the {} byte limit",
                                       data.size(), state_->options.max_event_bytes), "data");
  }
  std::shared_ptr<Stream> stream = state_->FindOrCreate(request_id);
  int64_t id = 0;
  {
    std::lock_guard lock(stream->mu);
    if (stream->terminal) {
      return FailedPrecondition(fmt::format("the event stream of '{}' has ended", request_id));
    }
    id = stream->next_id++;
    stream->history.push_back(Event{id, type, std::move(data)});
    if (stream->history.size() > std::max<size_t>(1, state_->options.max_events_per_stream)) {
      stream->history.pop_front();
    }
    stream->terminal = IsTerminal(type);
    stream->last_activity = state_->options.now();
    stream->Deliver(stream->history.back());
  }
  if (IsTerminal(type)) {
    state_->MarkFinished(std::string(request_id));
  } else if (id == 1) {
    state_->Sweep();  // once per stream keeps eviction O(1) amortised
  }
  return id;
}

Result<SubscribeResult> LocalEventBus::Subscribe(std::string_view request_id, int64_t after_id,
                                                 EventCallback callback,
                                                 SubscribeOptions options) {
  RETURN_IF_ERROR(ValidateId(request_id));
  if (after_id < 0) return InvalidArgument("after_id must be >= 0", "after_id");
  if (!callback) return InvalidArgument("a callback is required", "callback");
  std::shared_ptr<Stream> stream = state_->FindOrCreate(request_id);
  auto sub = std::make_shared<Subscriber>();
  sub->callback = std::move(callback);
  sub->terminal_only = options.terminal_only;
  SubscribeResult out;
  {
    std::lock_guard lock(stream->mu);
    int64_t first = stream->history.empty() ? stream->next_id : stream->history.front().id;
    out.replay_complete = after_id >= first - 1 && after_id < stream->next_id;
    out.last_id = stream->next_id - 1;
    out.terminal = stream->terminal;
    stream->delivering.store(std::this_thread::get_id());
    for (const Event& e : stream->history) {
      if (e.id > after_id) sub->Offer(e);
    }
    stream->delivering.store(std::thread::id());
    stream->subscribers.push_back(sub);
  }
  out.subscription = Subscription(
      std::make_unique<LocalHandle>(state_, std::string(request_id), stream, sub));
  return out;
}

Result<StreamInfo> LocalEventBus::Describe(std::string_view request_id) {
  RETURN_IF_ERROR(ValidateId(request_id));
  std::shared_ptr<Stream> stream = state_->Find(request_id);
  StreamInfo info;
  if (!stream) return info;
  std::lock_guard lock(stream->mu);
  if (stream->history.empty()) return info;
  info.exists = true;
  info.first_id = stream->history.front().id;
  info.last_id = stream->next_id - 1;
  info.terminal = stream->terminal;
  return info;
}

bool LocalEventBus::HasLiveFollowers(std::string_view request_id) {
  std::shared_ptr<Stream> stream = state_->Find(request_id);
  if (!stream) return false;
  std::lock_guard lock(stream->mu);
  return std::any_of(stream->subscribers.begin(), stream->subscribers.end(),
                     [](const auto& s) { return !s->terminal_only && s->active.load(); });
}

size_t LocalEventBus::stream_count() const {
  std::lock_guard lock(state_->map_mu);
  return state_->streams.size();
}

}  // namespace inferline::events
