#include "queue/memory/memory_broker.h"

#include <algorithm>
#include <vector>

namespace inferline::queue {

MemoryBroker::MemoryBroker(MemoryBrokerOptions options) : options_(std::move(options)) {
  options_.max_deliveries = std::max(1, options_.max_deliveries);
}

int64_t MemoryBroker::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             options_.now().time_since_epoch())
      .count();
}

Status MemoryBroker::Publish(std::string_view queue, std::string_view payload,
                             const MessageMeta& meta) {
  RETURN_IF_ERROR(ValidateQueueName(queue));
  if (IsDeadLetterQueueName(queue)) {
    return InvalidArgument("cannot publish to a dead-letter queue", "queue");
  }
  if (meta.tokens < 0) return InvalidArgument("message tokens must be >= 0", "tokens");
  {
    std::lock_guard lock(mu_);
    auto it = queues_.find(queue);
    if (it == queues_.end()) it = queues_.emplace(std::string(queue), Queue()).first;
    Queue& q = it->second;
    if (!meta.message_id.empty()) {
      for (const auto& [id, m] : q) {
        if (m.meta.message_id == meta.message_id) return Status::Ok();
      }
    }
    q.emplace(next_id_++, Message{std::string(payload), meta, State::kReady, false, 0, NowMs(), 0});
  }
  cv_.notify_all();
  return Status::Ok();
}

std::vector<Delivery> MemoryBroker::TryLease(const std::string& name, Queue& q,
                                             const ConsumeOptions& o, int64_t* next_wake) {
  int64_t now = NowMs();
  *next_wake = 0;
  std::vector<std::pair<int, uint64_t>> candidates;  // (-priority, id)
  for (auto& [id, m] : q) {
    if (m.state == State::kLeased && m.lease_until <= now) m.state = State::kReady;
    int64_t wake = 0;
    if (m.state == State::kReady && m.visible_at <= now) {
      candidates.emplace_back(-m.meta.priority, id);
    } else if (m.state == State::kReady) {
      wake = m.visible_at;
    } else if (m.state == State::kLeased) {
      wake = m.lease_until;
    }
    if (wake > 0 && (*next_wake == 0 || wake < *next_wake)) *next_wake = wake;
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() > static_cast<size_t>(o.max_messages)) {
    candidates.resize(static_cast<size_t>(o.max_messages));
  }
  std::vector<Delivery> out;
  for (const auto& [neg_priority, id] : candidates) {
    Message& m = q.at(id);
    Delivery d;
    d.queue = name;
    d.payload = m.payload;
    d.meta = m.meta;
    d.dead_lettered = m.dead || m.deliveries >= options_.max_deliveries;
    m.dead = d.dead_lettered;
    m.deliveries += 1;
    m.state = State::kLeased;
    m.lease_until = now + o.visibility_timeout.count();
    d.delivery_count = m.deliveries;
    d.tag = id;
    d.lease = static_cast<uint64_t>(m.deliveries);
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<Delivery>> MemoryBroker::Consume(std::string_view queue,
                                                    const ConsumeOptions& options) {
  RETURN_IF_ERROR(ValidateConsume(queue, options));
  std::string name(queue);
  auto deadline = std::chrono::steady_clock::now() + options.wait;
  std::unique_lock lock(mu_);
  while (!shutdown_) {
    int64_t next_wake = 0;
    std::vector<Delivery> got = TryLease(name, queues_[name], options, &next_wake);
    if (!got.empty()) return got;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto wake = deadline;
    if (next_wake > 0) {
      wake = std::min(wake, now + std::chrono::milliseconds(std::max<int64_t>(1, next_wake - NowMs())));
    }
    cv_.wait_until(lock, wake);
  }
  return std::vector<Delivery>();
}

MemoryBroker::Message* MemoryBroker::CurrentLease(const Delivery& d) {
  auto q = queues_.find(d.queue);
  if (q == queues_.end()) return nullptr;
  auto m = q->second.find(d.tag);
  if (m == q->second.end() || m->second.state != State::kLeased ||
      static_cast<uint64_t>(m->second.deliveries) != d.lease) {
    return nullptr;
  }
  return &m->second;
}

Status MemoryBroker::Ack(const Delivery& delivery) {
  std::lock_guard lock(mu_);
  Message* m = CurrentLease(delivery);
  if (m == nullptr) return FailedPrecondition("the delivery's lease is no longer current");
  if (m->dead) {
    m->state = State::kDeadReported;
  } else {
    queues_[delivery.queue].erase(delivery.tag);
  }
  return Status::Ok();
}

Result<NackOutcome> MemoryBroker::Nack(const Delivery& delivery, bool requeue,
                                       std::chrono::milliseconds delay) {
  if (delay.count() < 0) return InvalidArgument("delay must be >= 0", "delay");
  bool dead = false;
  {
    std::lock_guard lock(mu_);
    Message* m = CurrentLease(delivery);
    if (m == nullptr) return FailedPrecondition("the delivery's lease is no longer current");
    dead = !requeue || m->dead || m->deliveries >= options_.max_deliveries;
    m->dead = dead;
    m->state = State::kReady;
    m->visible_at = NowMs() + (dead ? 0 : delay.count());
  }
  cv_.notify_all();
  return dead ? NackOutcome::kDeadLettered : NackOutcome::kRequeued;
}

Status MemoryBroker::ExtendLease(const Delivery& delivery, std::chrono::milliseconds extension) {
  if (extension.count() <= 0) return InvalidArgument("extension must be positive", "extension");
  std::lock_guard lock(mu_);
  Message* m = CurrentLease(delivery);
  if (m == nullptr) return FailedPrecondition("the delivery's lease is no longer current");
  m->lease_until = NowMs() + extension.count();
  return Status::Ok();
}

Result<QueueStats> MemoryBroker::Stats(std::string_view queue) {
  RETURN_IF_ERROR(ValidateQueueName(queue));
  bool dlq = IsDeadLetterQueueName(queue);
  if (dlq) queue.remove_suffix(kDeadLetterSuffix.size());
  std::lock_guard lock(mu_);
  QueueStats s;
  auto it = queues_.find(queue);
  if (it == queues_.end()) return s;
  for (const auto& [id, m] : it->second) {
    if (m.dead) {
      ++s.dead;
    } else if (m.state == State::kReady) {
      ++s.ready;
      s.backlog_tokens += m.meta.tokens;
    } else if (m.state == State::kLeased) {
      ++s.leased;
      s.backlog_tokens += m.meta.tokens;
    }
  }
  if (dlq) return QueueStats{.ready = s.dead, .dead = s.dead};
  return s;
}

Status MemoryBroker::ReleaseAllLeases() {
  {
    std::lock_guard lock(mu_);
    for (auto& [name, q] : queues_) {
      for (auto& [id, m] : q) {
        if (m.state == State::kLeased) m.state = State::kReady;
      }
    }
  }
  cv_.notify_all();
  return Status::Ok();
}

void MemoryBroker::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

}  // namespace inferline::queue
