#include "queue/rabbitmq/publisher.h"

#include <fmt/format.h>

#include <algorithm>

#include "queue/rabbitmq/message_codec.h"

namespace inferline::queue {
namespace {

constexpr amqp_channel_t kConfirmChannel = 2;

}  // namespace

Publisher::Publisher(AmqpUrl url, RabbitMqOptions options)
    : IoLoop("publisher", std::move(url), std::move(options)) {}

Publisher::~Publisher() { Stop(); }

Publisher::Message::~Message() {
  // Dropped without an outcome (a bug, or a loop stopped before it ran its tasks): the caller
  // must not wait forever.
  if (!finished && batch) batch->Set(index, Internal("the publisher dropped the message"));
}

void Publisher::Message::Finish(Status st) {
  if (finished) return;  // exactly once: a second outcome must not corrupt the batch's count
  finished = true;
  batch->Set(index, std::move(st));
}

void Publisher::BatchDone::Set(size_t i, Status st) {
  std::lock_guard lock(mu);
  results[i] = std::move(st);
  if (--remaining == 0) cv.notify_all();
}

std::vector<Status> Publisher::BatchDone::Wait() {
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return remaining == 0; });
  return std::move(results);
}

Status Publisher::Publish(const std::string& physical_queue, std::string_view payload,
                          const MessageMeta& meta) {
  auto m = std::make_shared<Message>();
  m->queue = physical_queue;
  m->payload = std::string(payload);
  m->meta = meta;
  m->deadline = Clock::now() + options().publish_timeout;
  auto done = std::make_shared<BatchDone>(1);
  m->batch = done;
  Enqueue({std::move(m)});
  return std::move(done->Wait()[0]);
}

std::vector<Status> Publisher::PublishBatch(std::vector<OutgoingMessage> batch) {
  if (batch.empty()) return {};
  const Clock::time_point deadline = Clock::now() + options().publish_timeout;
  auto done = std::make_shared<BatchDone>(batch.size());
  std::vector<MessagePtr> messages;
  messages.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto m = std::make_shared<Message>();
    m->queue = std::move(batch[i].queue);
    m->payload = std::move(batch[i].payload);
    m->meta = std::move(batch[i].meta);
    m->deadline = deadline;
    m->batch = done;
    m->index = i;
    messages.push_back(std::move(m));
  }
  Enqueue(std::move(messages));
  return done->Wait();
}

void Publisher::Enqueue(std::vector<MessagePtr> messages) {
  Post([this, messages = std::move(messages)] {
    if (stopped()) {
      for (const MessagePtr& m : messages) {
        m->Finish(Unavailable("the RabbitMQ broker is shut down"));
      }
      return;
    }
    waiting_.insert(waiting_.end(), messages.begin(), messages.end());
    SendWaiting();
  });
}

void Publisher::SendWaiting() {
  // The frames of every message that fits the confirm window go out in one write (see
  // AmqpConnection::QueuePublish).
  SendWaitingFrames();
  if (!connected()) return;
  Status sent = conn()->FlushPublishes();
  if (!sent.ok()) MarkBroken(sent);
}

void Publisher::SendWaitingFrames() {
  while (ready_ && connected() && !waiting_.empty() &&
         unconfirmed_.size() < static_cast<size_t>(options().confirm_window)) {
    MessagePtr m = waiting_.front();
    Status declared = EnsureDeclared(m->queue);
    if (!declared.ok()) {
      if (!connected()) {
        MarkBroken(declared);
        return;  // stays first in line for the next connection
      }
      waiting_.pop_front();
      m->Finish(declared);
      continue;
    }
    waiting_.pop_front();
    EncodedProperties props(m->meta);
    Status sent = conn()->QueuePublish(kConfirmChannel, m->queue, m->payload, props.get());
    if (!sent.ok()) {
      if (!connected()) {
        waiting_.push_front(m);  // nothing of it was queued: first in line for the next one
        MarkBroken(sent);
        return;
      }
      m->Finish(sent);  // this message cannot be encoded; nothing of it was queued
      continue;
    }
    // Counted from here even if the write fails: it may reach RabbitMQ.
    unconfirmed_.emplace(next_tag_++, m);
    // Past the socket's usual buffer, write what is queued (nothing waits on the batch's end).
    if (conn()->queued_bytes() >= (256u << 10)) {
      sent = conn()->FlushPublishes();
      if (!sent.ok()) {
        MarkBroken(sent);
        return;
      }
    }
  }
}

void Publisher::Confirm(uint64_t tag, bool multiple, bool ack) {
  auto settle = [&](MessagePtr& m) {
    if (ack) {
      m->Finish(Status::Ok());
    } else {
      m->Finish(ResourceExhausted(fmt::format(
          "RabbitMQ refused the message for queue '{}': the queue is full (x-max-length {}, "
          "overflow reject-publish) or cannot take messages now; retry later",
          m->queue, options().max_length)));
    }
  };
  if (multiple) {
    auto end = unconfirmed_.upper_bound(tag);
    for (auto it = unconfirmed_.begin(); it != end; ++it) settle(it->second);
    unconfirmed_.erase(unconfirmed_.begin(), end);
  } else if (auto it = unconfirmed_.find(tag); it != unconfirmed_.end()) {
    settle(it->second);
    unconfirmed_.erase(it);
  }
}

Status Publisher::OnConnected() {
  ready_ = false;
  next_tag_ = 1;
  RETURN_IF_ERROR(conn()->OpenChannel(kConfirmChannel));
  amqp_confirm_select_t select{};
  RETURN_IF_ERROR(conn()->Rpc(kConfirmChannel, AMQP_CONFIRM_SELECT_METHOD,
                              AMQP_CONFIRM_SELECT_OK_METHOD, &select).status());
  ready_ = true;
  SendWaiting();
  return Status::Ok();
}

Status Publisher::OnFrame(const amqp_frame_t& frame) {
  if (frame.frame_type != AMQP_FRAME_METHOD || frame.channel != kConfirmChannel) {
    return Status::Ok();
  }
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      auto* a = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      Confirm(a->delivery_tag, a->multiple != 0, true);
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      auto* n = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
      Confirm(n->delivery_tag, n->multiple != 0, false);
      break;
    }
    default:
      break;
  }
  SendWaiting();
  return Status::Ok();
}

void Publisher::OnDisconnected(const Status&) {
  ready_ = false;
  // Unconfirmed messages go first, in their original order, on the next connection.
  for (auto it = unconfirmed_.rbegin(); it != unconfirmed_.rend(); ++it) {
    waiting_.push_front(it->second);
  }
  unconfirmed_.clear();
}

std::optional<IoLoop::Clock::time_point> Publisher::NextTimer() {
  std::optional<Clock::time_point> t;
  if (!waiting_.empty()) t = waiting_.front()->deadline;
  if (!unconfirmed_.empty()) {
    auto d = unconfirmed_.begin()->second->deadline;
    t = t ? std::min(*t, d) : d;
  }
  return t;
}

void Publisher::OnTimer(Clock::time_point now) {
  auto expire = [&](const MessagePtr& m) {
    if (m->deadline > now) return false;
    m->Finish(Unavailable(fmt::format(
        "RabbitMQ did not confirm the message for queue '{}' within {} ms{}", m->queue,
        options().publish_timeout.count(),
        connected() ? "" : fmt::format(" (not connected: {})", last_error()))));
    return true;
  };
  std::erase_if(waiting_, expire);
  std::erase_if(unconfirmed_, [&](auto& kv) { return expire(kv.second); });
}

void Publisher::OnStop() {
  for (auto& m : waiting_) m->Finish(Unavailable("the RabbitMQ broker is shut down"));
  for (auto& [tag, m] : unconfirmed_) {
    m->Finish(Unavailable("the RabbitMQ broker shut down before the confirm"));
  }
  waiting_.clear();
  unconfirmed_.clear();
}

}  // namespace inferline::queue
