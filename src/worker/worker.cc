// The Worker's threads and its handling of deliveries; the life of one generation (tokens,
// completion, housekeeping) is in worker_task.cc.
#include "worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "queue/outage_hold.h"
#include "worker/worker_task.h"

namespace inferline::worker {
namespace {

std::string DefaultWorkerId() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return fmt::format("{}-{}", host[0] ? host : "worker", ::getpid());
}

int64_t ToMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Worker::Worker(queue::Broker& broker, store::Store& store, events::EventBus& bus,
               std::shared_ptr<ModelBackend> backend, WorkerOptions options)
    : broker_(broker),
      store_(store),
      bus_(bus),
      backend_(std::move(backend)),
      options_(std::move(options)),
      queue_(queue::RequestQueueName(options_.model)),
      metrics_(options_.registry ? *options_.registry : metrics::Registry::Default()),
      gate_(std::make_shared<Gate>()),
      dispatch_(std::make_unique<OrderedExecutor>(options_.dispatch_threads)) {
  if (options_.worker_id.empty()) options_.worker_id = DefaultWorkerId();
  options_.max_in_flight = std::max(1, options_.max_in_flight);
  gate_->worker = this;
}

Worker::~Worker() { Stop(); }

Status Worker::Start() {
  if (options_.model.empty()) return InvalidArgument("the worker needs a model name", "model");
  RETURN_IF_ERROR(queue::ValidateQueueName(queue_));
  if (options_.visibility_timeout.count() <= 0) {
    return InvalidArgument("visibility_timeout must be positive", "visibility_timeout");
  }
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return FailedPrecondition("the worker was already started");
  started_ = true;
  consumer_ = std::thread([this] {
    NameThisThread("worker-consume");
    ConsumeLoop();
  });
  housekeeper_ = std::thread([this] {
    NameThisThread("worker-house");
    HousekeepingLoop();
  });
  log::Info("worker {} consuming {} (max in flight {})", options_.worker_id, queue_,
            options_.max_in_flight);
  return Status::Ok();
}

void Worker::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    started_ = false;
    stopping_ = true;
  }
  changed_.notify_all();
  if (consumer_.joinable()) consumer_.join();

  if (!WaitIdle(options_.stop_grace)) {
    std::vector<std::shared_ptr<Task>> left;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, t] : tasks_) left.push_back(t);
    }
    log::Warn("worker {}: {} generations still running after the grace period; cancelling and "
              "requeueing them", options_.worker_id, left.size());
    for (auto& t : left) {
      std::lock_guard lock(t->mu);
      t->requeue = true;
      if (t->handle && !t->finished) t->handle->Cancel();
    }
    if (!WaitIdle(options_.cancel_grace)) {
      // The backend did not report in time: give the messages back without its result.
      for (auto& t : left) {
        queue::Delivery d;
        std::unique_ptr<BackendHandle> handle;
        {
          std::lock_guard lock(t->mu);
          if (t->finished) continue;
          t->finished = true;
          d = t->delivery;
          handle = std::move(t->handle);
        }
        t->watch.Reset();
        if (auto r = broker_.Nack(d, true); !r.ok()) {
          log::WarnFor(t->request.request_id, "cannot requeue on stop: {}", r.status().message());
        }
        Count("requeued");
        Remove(*t);
      }
    }
  }
  {
    std::unique_lock lock(gate_->mu);
    gate_->worker = nullptr;
  }
  dispatch_->Shutdown();
  {
    std::lock_guard lock(hk_mu_);
    hk_stop_ = true;
  }
  hk_cv_.notify_all();
  if (housekeeper_.joinable()) housekeeper_.join();
  log::Info("worker {} stopped", options_.worker_id);
}

bool Worker::Cancel(std::string_view request_id) {
  std::shared_ptr<Task> task;
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(request_id);
    if (it == tasks_.end()) return false;
    task = it->second;
  }
  RequestCancel(*task);
  return true;
}

std::shared_ptr<Worker::Task> Worker::NewTask(protocol::RequestMessage request, int attempt,
                                              double queue_wait_seconds) {
  auto task = std::make_shared<Task>();
  task->lane = std::hash<std::string>{}(request.request_id);
  task->attempt = attempt;
  task->queue_wait_seconds = queue_wait_seconds;
  task->taken = SteadyClock::now();
  task->next_extend = task->taken + options_.visibility_timeout / 3;
  task->next_poll = task->taken + options_.cancel_poll_interval;
  task->request = std::move(request);
  return task;
}

std::shared_ptr<store::DirectLease> Worker::TryStartInProcess(
    const protocol::RequestMessage& m) {
  if (stopping_ || m.model != options_.model) return nullptr;
  // Declined for want of room, the request goes to the queue: until the consumer has looked
  // again, nothing may start ahead of it.
  auto decline = [this] {
    queue_drained_ = false;
    return nullptr;
  };
  if (!queue_drained_) return nullptr;
  if (backend_->FreeSlots() <= 0) return decline();
  std::shared_ptr<Task> task = NewTask(protocol::RequestMessage(m), /*attempt=*/1, 0);
  task->direct = std::make_shared<store::DirectLease>();
  task->direct->lease_for = options_.visibility_timeout;
  task->record = Task::Record::kAwaited;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return nullptr;
    if (static_cast<int>(tasks_.size()) >= options_.max_in_flight ||
        tasks_.contains(m.request_id)) {
      return decline();
    }
    tasks_.emplace(m.request_id, task);
    metrics_.in_flight.Set(static_cast<double>(tasks_.size()));
  }
  std::shared_ptr<store::DirectLease> lease = task->direct;
  StartTask(std::move(task), /*registered=*/true);
  return lease;
}

void Worker::InProcessSubmitted(std::string_view request_id) {
  std::shared_ptr<Task> task;
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(request_id);
    if (it == tasks_.end() || !it->second->direct) return;
    task = it->second;
  }
  dispatch_->Post(task->lane, [this, task] { Announce(task); });
}

int Worker::in_flight() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(tasks_.size());
}

bool Worker::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return tasks_.empty(); });
}

void Worker::Count(std::string_view status) {
  metrics_.requests_total.With({options_.model, status}).Inc();
}

void Worker::ConsumeLoop() {
  using std::chrono::milliseconds;
  auto pause = [&](milliseconds d) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, d, [&] { return stopping_.load(); });
  };
  while (!stopping_) {
    int room = std::min({backend_->FreeSlots(), options_.max_in_flight - in_flight(), 1000});
    if (room <= 0) {
      // Wait for a generation to end (or a short while, in case the backend frees a slot of
      // its own accord).
      std::unique_lock lock(mu_);
      size_t before = tasks_.size();
      changed_.wait_for(lock, std::min(options_.consume_wait, milliseconds(100)),
                        [&] { return stopping_.load() || tasks_.size() < before; });
      continue;
    }
    queue::ConsumeOptions opts;
    opts.max_messages = room;
    opts.visibility_timeout = options_.visibility_timeout;
    opts.wait = options_.consume_wait;
    auto t0 = SteadyClock::now();
    Result<std::vector<queue::Delivery>> got = broker_.Consume(queue_, opts);
    if (!got.ok()) {
      log::Warn("worker {}: consuming {} failed: {}", options_.worker_id, queue_,
                got.status().ToString());
      pause(options_.retry_delay);
      continue;
    }
    queue_drained_ = got->size() < static_cast<size_t>(opts.max_messages);
    if (got->empty()) {
      // A broker that returns at once (shut down) must not make this loop spin.
      auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - t0);
      if (elapsed < options_.consume_wait / 2) pause(options_.consume_wait - elapsed);
      continue;
    }
    for (queue::Delivery& d : *got) {
      if (stopping_) {
        (void)broker_.Nack(d, true);
        continue;
      }
      HandleDelivery(std::move(d));
    }
  }
}

Result<bool> Worker::MarkRunningHolding(queue::Delivery& d, const std::string& request_id,
                                        bool* lease_lost) {
  queue::OutageHold hold({.hold = options_.outage_hold,
                          .stopped = [this] { return stopping_.load(); },
                          .broker = &broker_,
                          .delivery = &d,
                          .visibility = options_.visibility_timeout});
  for (bool waited = false;; waited = true) {
    Result<bool> marked = store_.MarkRunning(request_id, options_.worker_id, options_.now());
    if (marked.ok() || marked.status().code() != StatusCode::kUnavailable) {
      if (waited && marked.ok()) {
        log::InfoFor(request_id, "the store answers again; starting the request");
      }
      return marked;
    }
    if (!waited) {
      log::WarnFor(request_id,
                   "cannot mark running ({}); holding the request and retrying for up to {:.1f} s",
                   marked.status().ToString(), hold.hold_seconds());
    }
    const queue::OutageHold::Step step = hold.Wait();
    if (step == queue::OutageHold::Step::kLeaseLost) *lease_lost = true;
    if (step != queue::OutageHold::Step::kRetry) return marked;
  }
}

void Worker::HandleDelivery(queue::Delivery d) {
  if (d.dead_lettered) {
    HandleDeadLetter(d);
    return;
  }
  Result<protocol::RequestMessage> parsed = protocol::ParseRequestMessage(d.payload);
  if (!parsed.ok()) {
    // Dead-letter it; the broker hands the notice back and HandleDeadLetter fails the request.
    log::Error("worker {}: unreadable request message {} ({}); dead-lettering it",
               options_.worker_id, d.meta.message_id, parsed.status().ToString());
    if (auto r = broker_.Nack(d, false); !r.ok()) log::Warn("nack: {}", r.status().message());
    Count("rejected");
    return;
  }
  protocol::RequestMessage& m = *parsed;
  {
    // Our lease lapsed and the broker handed the message to us again: adopt the new lease.
    std::lock_guard lock(mu_);
    if (auto it = tasks_.find(m.request_id); it != tasks_.end()) {
      std::lock_guard task_lock(it->second->mu);
      it->second->delivery = d;
      return;
    }
  }
  const auto now = options_.now();
  const int64_t now_ms = ToMillis(now);
  protocol::ResultMessage early;
  early.request_id = m.request_id;
  early.user_id = m.user_id;
  early.model = m.model;
  early.worker_id = options_.worker_id;
  double queue_wait = m.created_at_ms > 0 ? std::max<int64_t>(0, now_ms - m.created_at_ms) / 1e3 : 0;
  early.timings.queue_wait_seconds = queue_wait;
  if (m.model != options_.model) {
    early.status = protocol::FinalStatus::kFailed;
    early.finish_reason = "error";
    early.error_code = "model_mismatch";
    early.error_message = fmt::format("request for model '{}' reached the worker of '{}'",
                                      m.model, options_.model);
    if (PublishAndAck(d, early)) Count("failed");
    return;
  }
  metrics_.queue_wait_seconds.Observe(queue_wait);
  if (m.deadline_ms > 0 && now_ms >= m.deadline_ms) {
    early.status = protocol::FinalStatus::kExpired;
    early.error_code = "deadline_exceeded";
    early.error_message = "the request's deadline passed before a worker could start it";
    log::InfoFor(m.request_id, "expired in the queue (waited {:.3f}s)", queue_wait);
    if (PublishAndAck(d, early)) Count("expired");
    return;
  }
  bool lease_lost = false;
  Result<bool> marked = MarkRunningHolding(d, m.request_id, &lease_lost);
  if (lease_lost) {
    log::WarnFor(m.request_id, "lost the delivery's lease while the store was unavailable; "
                               "the broker delivers it again");
    Count("requeued");
    return;
  }
  if (!marked.ok() && marked.status().code() != StatusCode::kNotFound) {
    log::WarnFor(m.request_id, "cannot mark running ({}); giving the request back",
                 marked.status().ToString());
    if (auto r = broker_.Nack(d, true, options_.retry_delay); !r.ok()) {
      log::WarnFor(m.request_id, "nack: {}", r.status().message());
    }
    Count("requeued");
    return;
  }
  if (!marked.ok() || !*marked) {
    // Already terminal (cancelled while queued, or finished by an earlier delivery), or no
    // record at all: nothing to run and nothing to report.
    log::InfoFor(m.request_id, "dropped: {}",
                 marked.ok() ? "already finished" : marked.status().message());
    if (Status st = broker_.Ack(d); !st.ok()) log::WarnFor(m.request_id, "ack: {}", st.message());
    Count("dropped");
    return;
  }
  std::shared_ptr<Task> task = NewTask(std::move(m), d.delivery_count, queue_wait);
  task->delivery = std::move(d);
  StartTask(std::move(task));
}

void Worker::HandleDeadLetter(const queue::Delivery& d) {
  Result<protocol::RequestMessage> parsed = protocol::ParseRequestMessage(d.payload);
  protocol::ResultMessage res;
  res.request_id = parsed.ok() ? parsed->request_id : d.meta.message_id;
  if (res.request_id.empty()) {
    log::Error("worker {}: dead letter without a request id; left in {}", options_.worker_id,
               queue::DeadLetterQueueName(queue_));
    (void)broker_.Ack(d);
    return;
  }
  res.user_id = parsed.ok() ? parsed->user_id : "";
  res.model = parsed.ok() ? parsed->model : options_.model;
  res.status = protocol::FinalStatus::kFailed;
  res.finish_reason = "error";
  res.worker_id = options_.worker_id;
  if (parsed.ok()) {
    res.error_code = "max_deliveries_exceeded";
    // The embedded broker counts the notice as one more delivery of the same message; a
    // RabbitMQ dead-letter queue starts counting afresh, so there the count is unknown here.
    res.error_message =
        d.delivery_count > 1
            ? fmt::format("the request was delivered {} times without finishing",
                          d.delivery_count - 1)
            : std::string("the request reached the queue's delivery limit without finishing");
  } else {
    res.error_code = "poison_message";
    res.error_message = fmt::format("unreadable request message: {}", parsed.status().message());
  }
  log::ErrorFor(res.request_id, "dead-lettered: {}", res.error_message);
  // On failure the notice stays leased and comes back after the visibility timeout.
  if (PublishAndAck(d, res)) Count("failed");
}

}  // namespace inferline::worker
