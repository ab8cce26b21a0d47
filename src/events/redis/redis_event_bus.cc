#include "events/redis/redis_event_bus.h"

#include <fmt/format.h>

#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "events/redis/event_listener.h"
#include "events/redis/event_scripts.h"

namespace inferline::events {
namespace {

namespace keys = redis_events;
using redis::Reply;

struct Sub {
  std::string request_id;
  EventCallback callback;
  std::mutex mu;        // held while delivering; guards next_id
  int64_t next_id = 1;  // the next id this subscriber should see
  std::atomic<bool> active{true};
  // The thread running the callback now, so that a callback destroying its own subscription
  // does not wait for the lock its own thread holds.
  std::atomic<std::thread::id> delivering{};
};

const redis::RedisScript& PublishScript() {
  static const redis::RedisScript script{std::string(keys::kPublish)};
  return script;
}

const redis::RedisScript& ReadScript() {
  static const redis::RedisScript script{std::string(keys::kRead)};
  return script;
}

Status ValidateId(std::string_view request_id) {
  if (request_id.empty() || request_id.size() > 256) {
    return InvalidArgument("request id must be 1..256 characters", "request_id");
  }
  return Status::Ok();
}

Status Annotated(const Status& st, std::string_view doing) {
  return Status(st.code(), fmt::format("event bus: {}: {}", doing, st.message()), st.param());
}

// The stored elements of a read as events, skipping any malformed one.
std::vector<Event> ParseElements(const Reply& elements) {
  std::vector<Event> out;
  out.reserve(elements.elements.size());
  for (const Reply& element : elements.elements) {
    Event e;
    if (keys::ParseStored(element.str, &e)) out.push_back(std::move(e));
  }
  return out;
}

// kRead's answer: {} or {first id, last id, final, elements}; false if it is neither.
bool WellFormedRead(const Reply& r) {
  return r.elements.empty() ||
         (r.elements.size() == 4 && r.elements[0].AsInteger().ok() &&
          r.elements[1].AsInteger().ok());
}

void Invoke(Sub& s, const Event& e) {
  if (!s.active.load()) return;
  s.delivering.store(std::this_thread::get_id());
  s.callback(e);
  s.delivering.store(std::thread::id());
}

}  // namespace

struct RedisEventBus::State {
  State(std::shared_ptr<redis::RedisClient> c, RedisEventBusOptions o)
      : client(std::move(c)), options(o) {}

  std::vector<std::shared_ptr<Sub>> SubsOf(std::string_view rid) {
    std::lock_guard lock(mu);
    auto it = subs.find(std::string(rid));
    return it == subs.end() ? std::vector<std::shared_ptr<Sub>>{} : it->second;
  }

  std::vector<std::shared_ptr<Sub>> All() {
    std::lock_guard lock(mu);
    std::vector<std::shared_ptr<Sub>> all;
    for (const auto& [rid, v] : subs) all.insert(all.end(), v.begin(), v.end());
    return all;
  }

  // The first subscriber of a request makes the listener subscribe to its channel; the last
  // one to go makes it unsubscribe.
  void Add(const std::shared_ptr<Sub>& s) {
    std::lock_guard lock(mu);
    std::vector<std::shared_ptr<Sub>>& v = subs[s->request_id];
    if (v.empty() && interest) interest(s->request_id, true);
    v.push_back(s);
  }

  void Remove(const std::shared_ptr<Sub>& s) {
    std::lock_guard lock(mu);
    auto it = subs.find(s->request_id);
    if (it == subs.end()) return;
    std::erase(it->second, s);
    if (it->second.empty()) {
      if (interest) interest(s->request_id, false);
      subs.erase(it);
    }
  }

  // Events with ids in [from, to] (to = 0: up to the newest) still in the stream.
  Result<std::vector<Event>> Fetch(std::string_view rid, int64_t from, int64_t to) {
    ASSIGN_OR_RETURN(Reply r, client->Eval(ReadScript(), {keys::LogKey(rid)},
                                           {std::to_string(from), std::to_string(to)}));
    if (!WellFormedRead(r)) return Internal("event bus: the read script answered " + r.Describe());
    if (r.elements.empty()) return std::vector<Event>{};
    return ParseElements(r.elements[3]);
  }

  // Hands `events` (ascending ids) to a subscriber, skipping what it has seen. sub.mu held.
  static void DeliverAll(Sub& sub, const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (e.id < sub.next_id) continue;
      sub.next_id = e.id + 1;
      Invoke(sub, e);
    }
  }

  // One live event for one subscriber, in order: what it lacks before it is fetched first.
  void Deliver(Sub& sub, const Event& e) {
    std::lock_guard lock(sub.mu);
    if (!sub.active.load() || e.id < sub.next_id) return;
    if (e.id > sub.next_id) {
      Result<std::vector<Event>> missing = Fetch(sub.request_id, sub.next_id, e.id - 1);
      if (missing.ok()) {
        DeliverAll(sub, *missing);
      } else {
        log::WarnFor(sub.request_id, "event bus: cannot fetch events {}..{}: {}", sub.next_id,
                     e.id - 1, missing.status().ToString());
      }
    }
    DeliverAll(sub, {e});
  }

  void Dispatch(std::string_view rid, const Event& e) {
    for (const auto& sub : SubsOf(rid)) Deliver(*sub, e);
  }

  // After the listener (re)subscribed: whatever was published while it was away, or, for one
  // request, before its channel's subscription took effect.
  void CatchUp(const std::vector<std::shared_ptr<Sub>>& which) {
    for (const auto& sub : which) {
      std::lock_guard lock(sub->mu);
      if (!sub->active.load()) continue;
      Result<std::vector<Event>> missed = Fetch(sub->request_id, sub->next_id, 0);
      if (missed.ok()) DeliverAll(*sub, *missed);
    }
  }

  const std::shared_ptr<redis::RedisClient> client;
  const RedisEventBusOptions options;
  std::mutex mu;  // guards subs and interest; never held while a callback runs
  std::unordered_map<std::string, std::vector<std::shared_ptr<Sub>>> subs;
  // The listener's Want / Drop while the bus exists (subscription handles may outlive it).
  std::function<void(const std::string& request_id, bool want)> interest;
};

namespace {

class RedisHandle final : public Subscription::Handle {
 public:
  RedisHandle(std::weak_ptr<RedisEventBus::State> state, std::shared_ptr<Sub> sub)
      : state_(std::move(state)), sub_(std::move(sub)) {}

  ~RedisHandle() override {
    sub_->active.store(false);
    if (auto state = state_.lock()) state->Remove(sub_);
    if (sub_->delivering.load() == std::this_thread::get_id()) return;  // from its callback
    std::lock_guard lock(sub_->mu);  // waits out a delivery in progress
  }

 private:
  std::weak_ptr<RedisEventBus::State> state_;
  std::shared_ptr<Sub> sub_;
};

}  // namespace

RedisEventBus::RedisEventBus(std::shared_ptr<redis::RedisClient> client,
                             RedisEventBusOptions options)
    : state_(std::make_shared<State>(std::move(client), options)) {
  State* state = state_.get();
  listener_ = std::make_unique<EventListener>(
      state_->client, options.listener_backoff,
      [state](std::string_view rid, const Event& e) { state->Dispatch(rid, e); },
      [state](std::string_view rid) { state->CatchUp(state->SubsOf(rid)); },
      [state] { state->CatchUp(state->All()); });
  std::lock_guard lock(state_->mu);
  state_->interest = [listener = listener_.get()](const std::string& rid, bool want) {
    if (want) {
      listener->Want(rid);
    } else {
      listener->Drop(rid);
    }
  };
}

RedisEventBus::~RedisEventBus() {
  {
    std::lock_guard lock(state_->mu);
    state_->interest = nullptr;
  }
  listener_.reset();
}

bool RedisEventBus::listening() const { return listener_->subscribed(); }

namespace {

// Publish's arguments, or the refusal of an oversized event.
Result<std::vector<std::string>> PublishArgs(const RedisEventBusOptions& o, EventType type,
                                             const std::string& data) {
  if (data.size() > o.max_event_bytes) {
    return InvalidArgument(fmt::format("event data of {} bytes is over the {} byte limit",
                                       data.size(), o.max_event_bytes), "data");
  }
  return std::vector<std::string>{
      std::string(EventTypeName(type)), IsTerminal(type) ? "1" : "0", data,
      std::to_string(std::max<size_t>(1, o.max_events_per_stream)),
      std::to_string(std::max<int64_t>(1, o.retention.count())),
      std::to_string(std::max<int64_t>(1, o.idle_ttl.count()))};
}

Result<int64_t> PublishedId(const Result<Reply>& r, std::string_view request_id) {
  if (!r.ok()) return Annotated(r.status(), "publishing");
  ASSIGN_OR_RETURN(int64_t id, r->AsInteger());
  if (id == 0) {
    return FailedPrecondition(fmt::format("the event stream of '{}' has ended", request_id));
  }
  return id;
}

}  // namespace

Result<int64_t> RedisEventBus::Publish(std::string_view request_id, EventType type,
                                       std::string data) {
  RETURN_IF_ERROR(ValidateId(request_id));
  ASSIGN_OR_RETURN(std::vector<std::string> args, PublishArgs(state_->options, type, data));
  Result<int64_t> id = PublishedId(
      state_->client->Eval(PublishScript(),
                           {keys::LogKey(request_id), keys::ChannelOf(request_id)}, args),
      request_id);
  if (id.ok()) state_->Dispatch(request_id, Event{*id, type, std::move(data)});
  return id;
}

Result<SubscribeResult> RedisEventBus::Subscribe(std::string_view request_id, int64_t after_id,
                                                 EventCallback callback,
                                                 SubscribeOptions options) {
  RETURN_IF_ERROR(ValidateId(request_id));
  if (after_id < 0) return InvalidArgument("after_id must be >= 0", "after_id");
  if (!callback) return InvalidArgument("a callback is required", "callback");
  auto sub = std::make_shared<Sub>();
  sub->request_id = std::string(request_id);
  if (options.terminal_only) {
    sub->callback = [cb = std::move(callback)](const Event& e) {
      if (IsTerminal(e.type)) cb(e);
    };
  } else {
    sub->callback = std::move(callback);
  }
  sub->next_id = after_id + 1;
  // Registered before the replay is read, so that no live event falls between the two: one
  // that arrives meanwhile waits for sub->mu and is then dropped as seen, or delivered after.
  state_->Add(sub);
  std::unique_lock lock(sub->mu);
  Result<Reply> r = state_->client->Eval(ReadScript(), {keys::LogKey(request_id)},
                                         {std::to_string(after_id + 1), "0"});
  if (!r.ok() || !WellFormedRead(*r)) {
    lock.unlock();
    state_->Remove(sub);
    if (!r.ok()) return Annotated(r.status(), "replaying");
    return Internal("event bus: the replay script answered " + r->Describe());
  }
  SubscribeResult out;
  int64_t first = 1;
  if (!r->elements.empty()) {
    first = *r->elements[0].AsInteger();
    out.last_id = *r->elements[1].AsInteger();
    out.terminal = r->elements[2].str == "1";
    State::DeliverAll(*sub, ParseElements(r->elements[3]));
  }
  out.replay_complete = after_id >= first - 1 && after_id <= out.last_id;
  lock.unlock();
  out.subscription = Subscription(std::make_unique<RedisHandle>(state_, sub));
  return out;
}

Result<StreamInfo> RedisEventBus::Describe(std::string_view request_id) {
  RETURN_IF_ERROR(ValidateId(request_id));
  // A range past any id: only the first and last ids and the final flag come back.
  Result<Reply> r = state_->client->Eval(ReadScript(), {keys::LogKey(request_id)},
                                         {std::to_string(INT64_C(1) << 53), "0"});
  if (!r.ok()) return Annotated(r.status(), "describing a stream");
  StreamInfo info;
  if (r->elements.size() != 4 || !WellFormedRead(*r)) return info;
  info.exists = true;
  info.first_id = *r->elements[0].AsInteger();
  info.last_id = *r->elements[1].AsInteger();
  info.terminal = r->elements[2].str == "1";
  return info;
}

}  // namespace inferline::events
