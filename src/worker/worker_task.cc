// The life of one generation in the Worker: cancellation watch, `started`, Submit, token
// events, lease extension and cancellation polling, then the result and the ack.
#include <algorithm>
#include <climits>
#include <thread>
#include <vector>

#include "common/log.h"
#include "protocol/event_data.h"
#include "queue/outage_hold.h"
#include "worker/worker.h"
#include "worker/worker_task.h"

namespace inferline::worker {
namespace {

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

std::string ErrorCodeFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return "invalid_request";
    case StatusCode::kDeadlineExceeded: return "timeout";
    case StatusCode::kResourceExhausted: return "backend_overloaded";
    case StatusCode::kUnavailable: return "backend_unavailable";
    default: return "backend_error";
  }
}

}  // namespace

void Worker::StartTask(std::shared_ptr<Task> task, bool registered) {
  const std::string& id = task->request.request_id;
  if (!registered) {
    std::lock_guard lock(mu_);
    tasks_.emplace(id, task);
    metrics_.in_flight.Set(static_cast<double>(tasks_.size()));
  }
  // Watch for a cancel before announcing the start, so that none can slip in between.
  Task* raw = task.get();
  Result<events::StreamInfo> info = bus_.Describe(id);
  int64_t after = info.ok() ? info->last_id : 0;
  Result<events::SubscribeResult> sub =
      bus_.Subscribe(
          id, after,
          [this, raw](const events::Event& e) {
            if (events::IsTerminal(e.type)) RequestCancel(*raw);
          },
          {.terminal_only = true});
  if (sub.ok()) {
    if (sub->terminal) raw->cancel_requested = true;
    task->watch = std::move(sub->subscription);
  } else {
    log::WarnFor(id, "cannot watch for cancellation events ({}); polling the store only",
                 sub.status().ToString());
  }
  if (task->record != Task::Record::kAwaited) PublishStarted(*task);
  task->submitted = SteadyClock::now();
  if (task->cancel_requested) {
    dispatch_->Post(task->lane, [this, task] { Finish(task, BackendResult{"", "cancelled"}); });
    return;
  }
  BackendCallbacks callbacks;
  callbacks.on_token = [gate = gate_, raw](std::string_view piece, int index) {
    std::shared_lock lock(gate->mu);
    if (gate->worker != nullptr) gate->worker->OnToken(*raw, piece, index);
  };
  callbacks.on_done = [gate = gate_, task](BackendResult result) {
    std::shared_lock lock(gate->mu);
    Worker* w = gate->worker;
    if (w == nullptr) return;
    w->dispatch_->Post(task->lane, [w, task, result = std::move(result)]() mutable {
      w->Finish(task, std::move(result));
    });
  };
  Result<std::unique_ptr<BackendHandle>> handle = backend_->Submit(task->request, callbacks);
  if (!handle.ok()) {
    BackendResult r;
    r.finish_reason = "error";
    r.error = handle.status();
    if (handle.status().code() == StatusCode::kUnavailable) {
      std::lock_guard lock(task->mu);
      task->requeue = true;  // the backend is going away; another worker can run it
    }
    dispatch_->Post(task->lane, [this, task, r = std::move(r)]() mutable {
      Finish(task, std::move(r));
    });
    return;
  }
  std::unique_ptr<BackendHandle> unused;
  {
    std::lock_guard lock(task->mu);
    if (task->finished) {
      unused = std::move(*handle);  // done already (on_done ran inside Submit)
    } else {
      task->handle = std::move(*handle);
      if (task->cancel_requested && !task->cancel_sent) {
        task->cancel_sent = true;
        task->handle->Cancel();
      }
    }
  }
  metrics_.engine_batch_size.Set(backend_->ActiveSequences());
}

void Worker::PublishStarted(Task& task) {
  const std::string& id = task.request.request_id;
  protocol::StartedEventData started{options_.worker_id, task.attempt, task.queue_wait_seconds};
  Result<int64_t> pub = bus_.Publish(id, events::EventType::kStarted, protocol::Serialize(started));
  if (!pub.ok() && pub.status().code() == StatusCode::kFailedPrecondition) {
    task.cancel_requested = true;  // the stream already ended: cancelled just now
  } else if (!pub.ok()) {
    log::WarnFor(id, "cannot publish `started`: {}", pub.status().ToString());
  }
}

void Worker::Announce(const std::shared_ptr<Task>& task) {
  const std::string& id = task->request.request_id;
  if (task->record != Task::Record::kAwaited) return;
  {
    std::lock_guard lock(task->mu);
    if (task->finished) return;  // Stop gave up on it already
  }
  // Queued behind the record's create step, so it commits after it; NotFound means that step
  // failed (the gateway refunds and ends the request's stream).
  Result<bool> marked = store_.MarkRunning(id, options_.worker_id, options_.now());
  const uint64_t tag = task->direct->tag.load();
  if (tag != 0) {
    // The message exists (leased to us since its commit), whatever MarkRunning said.
    queue::Delivery d;
    d.queue = queue_;
    d.meta.message_id = id;
    d.meta.model = task->request.model;
    d.meta.tokens = task->request.reserved_tokens;
    d.meta.priority = task->request.priority;
    d.delivery_count = 1;
    d.tag = tag;
    d.lease = 1;
    std::lock_guard lock(task->mu);
    // A redelivery adopted meanwhile (our lease lapsed) carries the current lease: keep it.
    if (task->delivery.queue.empty()) task->delivery = std::move(d);
  }
  if (!marked.ok() || !*marked || tag == 0) {
    // Not recorded, already final (cancelled at once), or the store failed: nothing of it may
    // be published. A recorded request the store could not mark goes back to the queue.
    task->give_back = tag != 0 && !marked.ok() && marked.status().code() != StatusCode::kNotFound;
    if (task->give_back || (marked.ok() && *marked)) {
      log::WarnFor(id, "in-process start given back: {}",
                   marked.ok() ? "no queue message" : marked.status().ToString());
    } else {
      log::InfoFor(id, "in-process start dropped: {}",
                   marked.ok() ? "already finished" : marked.status().ToString());
    }
    task->record = Task::Record::kMissing;
    RequestCancel(*task);
    if (task->held_result) Finish(task, std::move(*task->held_result));
    return;
  }
  task->record = Task::Record::kWritten;
  PublishStarted(*task);
  FlushTokens(*task);  // what was generated meanwhile
  if (task->held_result) Finish(task, std::move(*task->held_result));
}

void Worker::OnToken(Task& task, std::string_view piece, int index) {
  if (piece.empty()) return;
  if (task.first_piece_seconds.load() == 0) {
    task.first_piece_seconds = std::max(1e-9, SecondsSince(task.taken));
  }
  // Nobody follows the tokens live (a non-streaming sync answer, an async request nobody
  // watches): keep them for the next token someone follows, or for Finish, which flushes
  // before the result. That spares the lane a wake-up per token. Whether someone follows is
  // asked at most every kFollowerRecheck, and held text goes out anyway at kHeldTextLimit.
  const auto now = SteadyClock::now();
  bool ask = false;
  {
    std::lock_guard lock(task.mu);
    task.pending_starts.emplace_back(task.pending_text.size(), index);
    task.pending_text.append(piece);
    if (task.flush_posted) return;
    if (task.pending_text.size() < kHeldTextLimit) {
      if (now - task.unfollowed_at < kFollowerRecheck) return;
      ask = true;
    }
  }
  const bool followed = !ask || bus_.HasLiveFollowers(task.request.request_id);
  {
    std::lock_guard lock(task.mu);
    if (!followed) {
      task.unfollowed_at = now;
      if (task.pending_text.size() < kHeldTextLimit) return;
    }
    if (task.flush_posted) return;
    task.flush_posted = true;
  }
  dispatch_->Post(task.lane, [this, t = task.shared_from_this()] { FlushTokens(*t); });
}

void Worker::FlushTokens(Task& task) {
  std::string text;
  std::vector<std::pair<size_t, int64_t>> starts;
  {
    std::lock_guard lock(task.mu);
    // Held back until the record is known to exist: Announce flushes them then (flush_posted
    // stays set meanwhile, so tokens do not post a flush each).
    if (task.record == Task::Record::kAwaited) return;
    task.flush_posted = false;
    if (task.pending_text.empty() || task.record != Task::Record::kWritten) return;
    text.swap(task.pending_text);
    starts.swap(task.pending_starts);
  }
  // One event per run of whole pieces of at most kHeldTextLimit bytes (a single larger piece
  // goes alone): text held back while nobody followed, or piled up while the lane was busy,
  // never makes an event the bus would refuse for its size.
  for (size_t i = 0; i < starts.size();) {
    const size_t begin = starts[i].first;
    size_t j = i + 1;
    while (j < starts.size() && starts[j].first - begin <= kHeldTextLimit) ++j;
    const size_t end = j < starts.size() ? starts[j].first : text.size();
    protocol::TokenEventData data;
    data.index = starts[i].second;
    data.text = text.substr(begin, end - begin);
    i = j;
    Result<int64_t> r = bus_.Publish(task.request.request_id, events::EventType::kToken,
                                     protocol::Serialize(data));
    if (r.ok()) continue;
    if (r.status().code() == StatusCode::kFailedPrecondition) {
      RequestCancel(task);  // the stream has ended: the request was cancelled
      return;
    }
    log::DebugFor(task.request.request_id, "token event lost: {}", r.status().ToString());
  }
}

void Worker::Finish(const std::shared_ptr<Task>& task, BackendResult r) {
  if (task->record == Task::Record::kAwaited) {
    task->held_result = std::move(r);  // Announce finishes it once the record is known
    return;
  }
  queue::Delivery delivery;
  bool requeue = false;
  std::unique_ptr<BackendHandle> handle;  // destroyed outside the lock
  {
    std::lock_guard lock(task->mu);
    if (task->finished) return;  // Stop gave the message back already
    task->finished = true;
    handle = std::move(task->handle);
    delivery = task->delivery;
    requeue = task->requeue;
  }
  if (task->record == Task::Record::kMissing) {
    // An in-process start whose record was not written (or was final already): no result.
    // A message that exists is acked (the request was cancelled at once), or given back when
    // the store could not mark it running.
    task->watch.Reset();
    if (!delivery.queue.empty() && task->give_back) {
      if (auto n = broker_.Nack(delivery, true, options_.retry_delay); !n.ok()) {
        log::WarnFor(task->request.request_id, "cannot requeue: {}", n.status().message());
      }
      Count("requeued");
    } else {
      if (!delivery.queue.empty()) {
        if (Status st = broker_.Ack(delivery); !st.ok()) {
          log::WarnFor(task->request.request_id, "ack: {}", st.message());
        }
      }
      Count("dropped");
    }
    Remove(*task);
    return;
  }
  // Every token event goes out before the result, so the collector's terminal event is last.
  FlushTokens(*task);
  task->watch.Reset();
  const protocol::RequestMessage& m = task->request;
  const bool cancelled = r.error.ok() && r.finish_reason == "cancelled";
  // A cancel the client did not ask for comes from the backend shutting down: run it again.
  if (requeue || (cancelled && !task->cancel_requested) ||
      (!r.error.ok() && r.error.code() == StatusCode::kUnavailable)) {
    if (auto n = broker_.Nack(delivery, true, options_.retry_delay); !n.ok()) {
      log::WarnFor(m.request_id, "cannot requeue: {}", n.status().message());
    }
    log::InfoFor(m.request_id, "given back to the queue");
    Count("requeued");
    Remove(*task);
    return;
  }
  const double generation = SecondsSince(task->submitted);
  double ttft = 0;
  if (r.ttft_seconds > 0) {
    ttft = task->queue_wait_seconds +
           std::chrono::duration<double>(task->submitted - task->taken).count() + r.ttft_seconds;
  } else if (double first = task->first_piece_seconds.load(); first > 0) {
    ttft = task->queue_wait_seconds + first;
  }
  protocol::ResultMessage res;
  res.request_id = m.request_id;
  res.user_id = m.user_id;
  res.model = m.model;
  res.worker_id = options_.worker_id;
  res.output_text = std::move(r.output_text);
  res.finish_reason = r.finish_reason;
  res.usage = r.usage;
  res.timings = {task->queue_wait_seconds, ttft, generation};
  if (!r.error.ok()) {
    res.status = protocol::FinalStatus::kFailed;
    res.finish_reason = "error";
    res.error_code = ErrorCodeFor(r.error);
    res.error_message = r.error.message();
    log::WarnFor(m.request_id, "generation failed: {}", r.error.ToString());
  } else if (cancelled) {
    res.status = protocol::FinalStatus::kCancelled;
    res.error_code = "cancelled";
    res.error_message = "the request was cancelled";
  }
  if (ttft > 0) metrics_.time_to_first_token_seconds.Observe(ttft);
  metrics_.processing_seconds.With({m.model}).Observe(generation);
  metrics_.ml_requests_total.With({m.model}).Inc();
  metrics_.tokens_processed_total.With({"prompt", m.model}).Inc(res.usage.prompt_tokens);
  metrics_.tokens_processed_total.With({"completion", m.model})
      .Inc(res.usage.completion_tokens);
  // Logged after the result is handed on: the line is not on the way to the client.
  if (PublishAndAck(delivery, res)) Count(protocol::FinalStatusName(res.status));
  log::InfoFor(m.request_id, "{} ({}): {} prompt + {} completion tokens in {:.3f}s",
               protocol::FinalStatusName(res.status), res.finish_reason, res.usage.prompt_tokens,
               res.usage.completion_tokens, generation);
  Remove(*task);
  metrics_.engine_batch_size.Set(backend_->ActiveSequences());
}

bool Worker::PublishAndAck(const queue::Delivery& d, const protocol::ResultMessage& res) {
  queue::MessageMeta meta;
  meta.message_id = res.request_id;  // a second result is dropped while the first is queued
  meta.model = res.model;
  // Retried with backoff while the broker is unavailable (a restart), for up to outage_hold:
  // the result is kept, not the work thrown away and the delivery spent. Other errors get three
  // tries.
  queue::OutageHold hold({.hold = options_.outage_hold,
                          .stopped = [this] { return stopping_.load(); }});
  // Tests: publish but leave the request's message unacked, as a crash between the two would.
  const bool skip_ack = options_.crash_before_ack && options_.crash_before_ack(res.request_id);
  if (options_.record_result && !skip_ack) {
    Status recorded = options_.record_result(res);
    if (recorded.ok()) {
      if (Status acked = broker_.Ack(d); !acked.ok()) {
        // The lease moved on (it lapsed); the redelivery will find the request finished.
        log::WarnFor(res.request_id, "ack after recording the result failed: {}",
                     acked.ToString());
      }
      return true;
    }
    log::WarnFor(res.request_id, "cannot record the result in process ({}); sending it to {}",
                 recorded.ToString(), queue::kResultsQueue);
  }
  const std::string payload = protocol::Serialize(res);  // only the queue needs it
  Status st;
  Status acked;
  for (int attempt = 0;; ++attempt) {
    if (skip_ack) {
      st = broker_.Publish(queue::kResultsQueue, payload, meta);
    } else {
      // The result and the ack go together where the broker can (one commit in SQLite).
      queue::Broker::PublishAckResult r =
          broker_.PublishAndAck(queue::kResultsQueue, payload, meta, d);
      st = std::move(r.published);
      acked = std::move(r.acked);
    }
    if (st.ok() || st.code() == StatusCode::kInvalidArgument) break;
    if (st.code() != StatusCode::kUnavailable && attempt >= 2) break;
    if (attempt == 0) {
      log::WarnFor(res.request_id, "cannot publish the result yet ({}); retrying for up to {:.1f} s",
                   st.ToString(), hold.hold_seconds());
    }
    if (hold.Wait() != queue::OutageHold::Step::kRetry) break;
  }
  if (!st.ok()) {
    log::ErrorFor(res.request_id, "cannot publish the result ({}); the request will run again",
                  st.ToString());
    // A dead-letter notice is not nacked (it would come straight back); its lease expiry
    // brings it back after the visibility timeout instead.
    if (!d.dead_lettered) (void)broker_.Nack(d, true, options_.retry_delay);
    Count("requeued");
    return false;
  }
  if (!skip_ack && !acked.ok()) {
    // The lease moved on (it lapsed); the redelivery will find the request finished.
    log::WarnFor(res.request_id, "ack after the result failed: {}", acked.ToString());
  }
  return true;
}

void Worker::Remove(const Task& task) {
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(task.request.request_id);
    if (it != tasks_.end() && it->second.get() == &task) tasks_.erase(it);
    metrics_.in_flight.Set(static_cast<double>(tasks_.size()));
  }
  changed_.notify_all();
}

void Worker::RequestCancel(Task& task) {
  task.cancel_requested = true;
  {
    std::lock_guard lock(hk_mu_);
    hk_wake_ = true;
  }
  hk_cv_.notify_one();
}

void Worker::HousekeepingLoop() {
  using std::chrono::milliseconds;
  const milliseconds tick = std::clamp(
      std::min(options_.cancel_poll_interval, options_.visibility_timeout / 6), milliseconds(10),
      milliseconds(1000));
  for (;;) {
    {
      std::unique_lock lock(hk_mu_);
      hk_cv_.wait_for(lock, tick, [&] { return hk_stop_ || hk_wake_; });
      if (hk_stop_) return;
      hk_wake_ = false;
    }
    std::vector<std::shared_ptr<Task>> tasks;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, t] : tasks_) tasks.push_back(t);
    }
    const auto now = SteadyClock::now();
    for (auto& t : tasks) Housekeep(*t, now);
    metrics_.engine_batch_size.Set(backend_->ActiveSequences());
  }
}

void Worker::Housekeep(Task& t, SteadyClock::time_point now) {
  const std::string& id = t.request.request_id;
  if (!t.cancel_requested && now >= t.next_poll) {
    t.next_poll = now + options_.cancel_poll_interval;
    Result<store::RequestRecord> rec = store_.GetRequest(id);
    if (rec.ok() && store::IsTerminal(rec->status)) {
      t.cancel_requested = true;
    } else if (!rec.ok()) {
      log::DebugFor(id, "cancellation poll failed: {}", rec.status().ToString());
    }
  }
  queue::Delivery d;
  bool extend = now >= t.next_extend;
  {
    std::lock_guard lock(t.mu);
    if (t.finished) return;
    if (t.cancel_requested && !t.cancel_sent && t.handle) {
      t.cancel_sent = true;
      t.handle->Cancel();
      log::InfoFor(id, "cancelled by the client; stopping its generation");
    }
    if (extend) d = t.delivery;
  }
  if (!extend || d.queue.empty()) return;  // no lease yet: an in-process start in the making
  t.next_extend = now + options_.visibility_timeout / 3;
  if (Status st = broker_.ExtendLease(d, options_.visibility_timeout); !st.ok()) {
    log::WarnFor(id, "cannot extend the lease: {}", st.ToString());
  }
}

}  // namespace inferline::worker
