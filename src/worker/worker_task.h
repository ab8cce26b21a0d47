// Internal to the Worker (worker.cc, worker_task.cc): the state of one request being generated,
// and the gate through which backend callbacks reach the Worker.
//
// Thread-safety: see the comments on each field. The consumer thread creates a Task and fills
// the fields marked "fixed" before the Task becomes visible in Worker::tasks_ (under its mutex),
// so every other thread sees them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "events/event_bus.h"
#include "protocol/messages.h"
#include "queue/message.h"
#include "store/types.h"
#include "worker/model_backend.h"
#include "worker/worker.h"

namespace inferline::worker {

using SteadyClock = std::chrono::steady_clock;

struct Worker::Task : std::enable_shared_from_this<Worker::Task> {
  // Fixed.
  protocol::RequestMessage request;
  size_t lane = 0;  // dispatch lane: a request's events and result are published in order
  int attempt = 1;  // the delivery count that started it
  double queue_wait_seconds = 0;
  SteadyClock::time_point taken;      // when this worker took it
  SteadyClock::time_point submitted;  // when it went to the backend

  // Any thread.
  std::atomic<bool> cancel_requested{false};  // the client cancelled it (event, store or bus)
  std::atomic<double> first_piece_seconds{0};  // since `taken`; 0 until the first text

  // Written by the consumer thread before Submit, reset by Finish (a dispatch thread) or Stop;
  // those run strictly after (the backend's on_done, or the consumer having exited).
  events::Subscription watch;

  // Housekeeping thread only.
  SteadyClock::time_point next_extend;
  SteadyClock::time_point next_poll;

  // In-process start (Worker::TryStartInProcess). The lease is fixed; `record` and
  // `held_result` belong to the task's dispatch lane.
  std::shared_ptr<store::DirectLease> direct;
  enum class Record { kWritten, kAwaited, kMissing };
  Record record = Record::kWritten;  // kAwaited until Announce ran; kMissing: dropped
  std::optional<BackendResult> held_result;  // the generation ended before Announce
  bool give_back = false;  // kMissing because the store failed: nack the message, not ack

  std::mutex mu;  // guards everything below
  queue::Delivery delivery;  // the current lease (a redelivery to this worker replaces it)
  std::unique_ptr<BackendHandle> handle;
  bool cancel_sent = false;
  bool requeue = false;   // give the message back instead of publishing a result (Stop)
  bool finished = false;  // Finish ran, or Stop gave the message back without it
  std::string pending_text;  // token text not yet published
  // Where each piece of pending_text starts, and its token index (FlushTokens cuts at these).
  std::vector<std::pair<size_t, int64_t>> pending_starts;
  bool flush_posted = false;
  // When the bus last said nobody follows the request live (OnToken asks again after
  // Worker::kFollowerRecheck); the epoch when it has not been asked.
  std::chrono::steady_clock::time_point unfollowed_at{};
};

// Backend callbacks hold the gate, not the Worker: after Stop closes it (worker = null), a late
// callback from a backend that outlives the Worker does nothing.
struct Worker::Gate {
  std::shared_mutex mu;  // callbacks hold it shared while they use `worker`
  Worker* worker = nullptr;
};

}  // namespace inferline::worker
