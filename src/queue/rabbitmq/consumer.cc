#include "queue/rabbitmq/consumer.h"

#include <fmt/format.h>

#include <algorithm>

#include "queue/rabbitmq/message_codec.h"

namespace inferline::queue {
namespace {

amqp_bytes_t Bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string Str(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

std::string NoticesQueue(const std::string& physical) {
  return physical + ".dlq" + std::string(kNoticesSuffix);
}

Status Stale() {
  return FailedPrecondition(
      "the delivery is no longer held: it was already acked or nacked, or its RabbitMQ channel "
      "closed and RabbitMQ requeued the message");
}

Status ShutDown() { return Unavailable("the RabbitMQ broker is shut down"); }

}  // namespace

Consumer::Consumer(AmqpUrl url, RabbitMqOptions options)
    : IoLoop("consumer", std::move(url), std::move(options)) {}

Consumer::~Consumer() { Stop(); }

template <class T>
T Consumer::RunSync(std::function<T()> fn) {
  auto p = std::make_shared<std::promise<T>>();
  std::future<T> f = p->get_future();
  Post([this, p, fn = std::move(fn)] {
    if (stopped()) {
      p->set_value(T(ShutDown()));
      return;
    }
    p->set_value(fn());
  });
  return f.get();
}

Consumer::Sub& Consumer::GetSub(const std::string& queue, const std::string& physical) {
  Sub& s = subs_[queue];
  if (s.queue.empty()) {
    s.queue = queue;
    s.physical = physical;
  }
  return s;
}

Consumer::Sub* Consumer::Find(const std::string& queue) {
  auto it = subs_.find(queue);
  return it == subs_.end() ? nullptr : &it->second;
}

Result<std::vector<Delivery>> Consumer::Consume(const std::string& queue,
                                                const std::string& physical,
                                                const ConsumeOptions& options) {
  if (shutdown_) return std::vector<Delivery>();
  auto op = std::make_shared<Op>();
  op->want = static_cast<size_t>(options.max_messages);
  op->wait = options.wait.count() > 0;
  op->deadline = Clock::now() + options.wait;
  auto done = op->done.get_future();
  Post([this, op, queue, physical] {
    if (stopped()) return op->done.set_value(ShutDown());
    if (shutdown_) return op->done.set_value(std::vector<Delivery>());
    Begin(GetSub(queue, physical), op);
  });
  return done.get();
}

void Consumer::Begin(Sub& s, OpPtr op) {
  if (!connected()) {
    if (op->wait) {
      s.waiters.push_back(op);  // served after the reconnect, or at its deadline
    } else {
      op->done.set_value(Unavailable("RabbitMQ is not connected: " + last_error()));
    }
    return;
  }
  Status st = EnsureChannel(s);
  if (st.ok()) {
    TakeBuffered(s, *op);
    if (op->got.size() == op->want || (op->wait && !op->got.empty())) return Finish(s, op);
    if (!op->wait) {
      s.getters.push_back(op);
      if (s.getters.size() == 1) SendGet(s);
      return;
    }
    st = EnsureSubscribed(s, op->want);
    if (st.ok()) {
      s.waiters.push_back(op);
      return;
    }
  }
  if (!connected()) MarkBroken(st);
  op->done.set_value(st);
}

Status Consumer::EnsureChannel(Sub& s) {
  if (s.channel != 0) return Status::Ok();
  RETURN_IF_ERROR(EnsureDeclared(s.physical));
  amqp_channel_t ch = next_channel_++;
  RETURN_IF_ERROR(conn()->OpenChannel(ch));
  s.channel = ch;
  s.incarnation = next_incarnation_++;
  by_channel_[ch] = s.queue;
  return Status::Ok();
}

Status Consumer::EnsureSubscribed(Sub& s, size_t extra) {
  size_t demand = s.held.size() + s.buffer.size() + extra;
  for (const OpPtr& w : s.waiters) demand += w->want;
  int desired = static_cast<int>(
      std::clamp<size_t>(demand, 1, static_cast<size_t>(options().max_prefetch)));
  if (s.prefetch >= desired) return Status::Ok();
  // Quorum queues fix a consumer's prefetch at basic.consume: cancel and consume again.
  // Deliveries already received stay valid on the channel.
  for (std::string& tag : s.consumer_tags) {
    amqp_basic_cancel_t c{};
    c.consumer_tag = Bytes(tag);
    RETURN_IF_ERROR(
        conn()->Rpc(s.channel, AMQP_BASIC_CANCEL_METHOD, AMQP_BASIC_CANCEL_OK_METHOD, &c)
            .status());
  }
  s.consumer_tags.clear();
  s.prefetch = 0;
  amqp_basic_qos_t q{};
  q.prefetch_count = static_cast<uint16_t>(desired);
  RETURN_IF_ERROR(conn()->Rpc(s.channel, AMQP_BASIC_QOS_METHOD, AMQP_BASIC_QOS_OK_METHOD, &q)
                      .status());
  for (const std::string& name : {NoticesQueue(s.physical), s.physical}) {
    amqp_basic_consume_t c{};
    c.queue = Bytes(name);
    c.arguments = amqp_empty_table;
    ASSIGN_OR_RETURN(void* reply, conn()->Rpc(s.channel, AMQP_BASIC_CONSUME_METHOD,
                                              AMQP_BASIC_CONSUME_OK_METHOD, &c));
    s.consumer_tags.push_back(Str(static_cast<amqp_basic_consume_ok_t*>(reply)->consumer_tag));
  }
  s.prefetch = desired;
  return Status::Ok();
}

void Consumer::TakeBuffered(Sub& s, Op& op) {
  while (op.got.size() < op.want && !s.buffer.empty()) {
    s.held.insert(s.buffer.front().tag);
    op.got.push_back(std::move(s.buffer.front()));
    s.buffer.pop_front();
  }
}

void Consumer::Finish(Sub& s, OpPtr op) {
  TakeBuffered(s, *op);
  op->done.set_value(std::move(op->got));
}

void Consumer::SendGet(Sub& s) {
  if (s.getters.empty()) return;
  std::string name = s.getters.front()->get_stage == 0 ? NoticesQueue(s.physical) : s.physical;
  amqp_basic_get_t g{};
  g.queue = Bytes(name);
  Status st = conn()->Send(s.channel, AMQP_BASIC_GET_METHOD, &g);
  if (!st.ok()) MarkBroken(st);
}

void Consumer::ServeWaiters(Sub& s) {
  while (!s.waiters.empty() && !s.buffer.empty()) {
    OpPtr op = s.waiters.front();
    s.waiters.pop_front();
    Finish(s, op);
  }
}

void Consumer::Delivered(Sub& s, Incoming in) {
  Delivery& d = in.d;
  d.queue = s.queue;
  d.tag = in.tag;
  d.lease = s.incarnation;
  d.dead_lettered = in.notice;
  if (!in.from_get) {
    s.buffer.push_back(std::move(d));
    ServeWaiters(s);
    return;
  }
  if (s.getters.empty()) return;  // cannot happen: a get-ok answers the head getter
  OpPtr op = s.getters.front();
  s.held.insert(d.tag);
  op->got.push_back(std::move(d));
  if (op->got.size() < op->want) return SendGet(s);
  s.getters.pop_front();
  Finish(s, op);
  SendGet(s);
}

Status Consumer::OnContent(Sub& s, const amqp_frame_t& frame) {
  if (!s.incoming) return Internal("AMQP content frame without a delivery");
  Incoming& in = *s.incoming;
  if (frame.frame_type == AMQP_FRAME_HEADER) {
    auto* props = static_cast<amqp_basic_properties_t*>(frame.payload.properties.decoded);
    DecodedProperties p = DecodeProperties(*props);
    in.d.meta = std::move(p.meta);
    in.d.delivery_count = p.previous_deliveries + 1;
    in.body_size = static_cast<size_t>(frame.payload.properties.body_size);
    in.have_header = true;
    in.d.payload.reserve(in.body_size);
  } else {
    const amqp_bytes_t& b = frame.payload.body_fragment;
    in.d.payload.append(static_cast<const char*>(b.bytes), b.len);
  }
  if (in.have_header && in.d.payload.size() >= in.body_size) {
    Incoming done = std::move(in);
    s.incoming.reset();
    Delivered(s, std::move(done));
  }
  return Status::Ok();
}

Status Consumer::OnFrame(const amqp_frame_t& frame) {
  auto ch = by_channel_.find(frame.channel);
  if (ch == by_channel_.end()) return Status::Ok();
  Sub& s = subs_.at(ch->second);
  if (frame.frame_type != AMQP_FRAME_METHOD) return OnContent(s, frame);
  const std::string dead_key = s.physical + ".dlq";
  switch (frame.payload.method.id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      auto* m = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded);
      s.incoming = Incoming{.tag = m->delivery_tag, .notice = Str(m->routing_key) == dead_key};
      break;
    }
    case AMQP_BASIC_GET_OK_METHOD: {
      auto* m = static_cast<amqp_basic_get_ok_t*>(frame.payload.method.decoded);
      s.incoming = Incoming{.tag = m->delivery_tag,
                            .from_get = true,
                            .notice = Str(m->routing_key) == dead_key};
      break;
    }
    case AMQP_BASIC_GET_EMPTY_METHOD: {
      if (s.getters.empty()) break;
      OpPtr op = s.getters.front();
      if (op->get_stage == 0) {
        op->get_stage = 1;
      } else {
        s.getters.pop_front();
        Finish(s, op);
      }
      SendGet(s);
      break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
      return Unavailable(fmt::format("RabbitMQ cancelled the consumers of '{}' (queue deleted?)",
                                     s.physical));
    default:
      break;
  }
  return Status::Ok();
}

Status Consumer::Held(const Delivery& d, Sub** sub) {
  Sub* s = Find(d.queue);
  if (s == nullptr || !connected() || s->channel == 0 || d.lease != s->incarnation ||
      !s->held.contains(d.tag)) {
    return Stale();
  }
  *sub = s;
  return Status::Ok();
}

Status Consumer::Ack(const Delivery& d) {
  return RunSync<Status>([&]() -> Status {
    Sub* s = nullptr;
    RETURN_IF_ERROR(Held(d, &s));
    s->held.erase(d.tag);
    amqp_basic_ack_t a{};
    a.delivery_tag = d.tag;
    Status st = conn()->Send(s->channel, AMQP_BASIC_ACK_METHOD, &a);
    if (!st.ok()) MarkBroken(st);
    return st;
  });
}

Result<NackOutcome> Consumer::Nack(const Delivery& d, bool requeue,
                                   std::chrono::milliseconds delay) {
  return RunSync<Result<NackOutcome>>([&]() -> Result<NackOutcome> {
    Sub* s = nullptr;
    RETURN_IF_ERROR(Held(d, &s));
    s->held.erase(d.tag);
    // Dead-letter ourselves when RabbitMQ would on the return: the outcome is then certain.
    bool dead = !requeue || (!d.dead_lettered && d.delivery_count >= options().max_deliveries);
    if (!dead && delay.count() > 0) {
      delayed_.push_back(Delayed{Clock::now() + delay, s->queue, s->incarnation, d.tag});
      return NackOutcome::kRequeued;
    }
    Status st;
    if (dead) {
      amqp_basic_reject_t r{};
      r.delivery_tag = d.tag;
      r.requeue = 0;
      st = conn()->Send(s->channel, AMQP_BASIC_REJECT_METHOD, &r);
    } else {
      amqp_basic_nack_t n{};
      n.delivery_tag = d.tag;
      n.requeue = 1;
      st = conn()->Send(s->channel, AMQP_BASIC_NACK_METHOD, &n);
    }
    if (!st.ok()) {
      MarkBroken(st);
      return st;
    }
    return dead ? NackOutcome::kDeadLettered : NackOutcome::kRequeued;
  });
}

Status Consumer::CheckHeld(const Delivery& d) {
  return RunSync<Status>([&]() -> Status {
    Sub* s = nullptr;
    return Held(d, &s);
  });
}

Result<QueueStats> Consumer::Stats(const std::string& queue, const std::string& physical) {
  return RunSync<Result<QueueStats>>([&]() -> Result<QueueStats> {
    if (!connected()) return Unavailable("RabbitMQ is not connected: " + last_error());
    bool dlq = IsDeadLetterQueueName(queue);
    std::string base = dlq ? physical.substr(0, physical.size() - 4) : physical;
    Result<QueueCounts> counts = Count(base);
    if (!counts.ok()) {
      if (!connected()) MarkBroken(counts.status());
      return counts.status();
    }
    QueueStats out;
    out.dead = counts->dead;
    if (dlq) {
      out.ready = counts->dead;
      return out;
    }
    out.ready = counts->ready;
    if (Sub* s = Find(queue)) {
      out.leased = static_cast<int64_t>(s->held.size() + s->buffer.size());
      for (const Delayed& dl : delayed_) out.leased += dl.queue == queue;
    }
    return out;
  });
}

Status Consumer::DeclareAll(const std::vector<std::string>& physical) {
  return RunSync<Status>([&]() -> Status {
    for (const std::string& q : physical) RETURN_IF_ERROR(EnsureDeclared(q));
    return Status::Ok();
  });
}

void Consumer::Shutdown() {
  if (shutdown_.exchange(true)) return;
  Post([this] {
    for (auto& [name, s] : subs_) {
      for (OpPtr& op : s.waiters) op->done.set_value(std::move(op->got));
      s.waiters.clear();
    }
  });
}

Status Consumer::OnConnected() {
  next_channel_ = 2;
  for (auto& [name, s] : subs_) {
    if (s.waiters.empty()) continue;
    RETURN_IF_ERROR(EnsureChannel(s));
    RETURN_IF_ERROR(EnsureSubscribed(s, 0));
  }
  return Status::Ok();
}

void Consumer::OnDisconnected(const Status& why) {
  for (auto& [name, s] : subs_) {
    s.channel = 0;
    s.prefetch = 0;
    s.consumer_tags.clear();
    s.buffer.clear();  // RabbitMQ requeues everything unacked on the lost channels
    s.held.clear();
    s.incoming.reset();
    for (OpPtr& op : s.getters) op->done.set_value(why);
    s.getters.clear();
  }
  by_channel_.clear();
  delayed_.clear();
}

std::optional<IoLoop::Clock::time_point> Consumer::NextTimer() {
  std::optional<Clock::time_point> t;
  auto consider = [&](Clock::time_point c) { t = t ? std::min(*t, c) : c; };
  for (auto& [name, s] : subs_) {
    for (const OpPtr& op : s.waiters) consider(op->deadline);
  }
  for (const Delayed& d : delayed_) consider(d.due);
  return t;
}

void Consumer::OnTimer(Clock::time_point now) {
  for (auto& [name, s] : subs_) {
    std::erase_if(s.waiters, [&](OpPtr& op) {
      if (op->deadline > now) return false;
      if (connected()) {
        op->done.set_value(std::move(op->got));
      } else {
        op->done.set_value(Unavailable("RabbitMQ is not connected: " + last_error()));
      }
      return true;
    });
  }
  std::erase_if(delayed_, [&](const Delayed& d) {
    if (d.due > now) return false;
    Sub* s = Find(d.queue);
    if (s != nullptr && connected() && s->incarnation == d.incarnation && s->channel != 0) {
      amqp_basic_nack_t n{};
      n.delivery_tag = d.tag;
      n.requeue = 1;
      Status st = conn()->Send(s->channel, AMQP_BASIC_NACK_METHOD, &n);
      if (!st.ok()) MarkBroken(st);
    }
    return true;
  });
}

void Consumer::OnStop() {
  for (auto& [name, s] : subs_) {
    for (OpPtr& op : s.waiters) op->done.set_value(std::vector<Delivery>());
    for (OpPtr& op : s.getters) op->done.set_value(ShutDown());
    s.waiters.clear();
    s.getters.clear();
  }
}

}  // namespace inferline::queue
