// Worker: takes requests for one model off the queue, runs them on a ModelBackend, streams their
// tokens as events and publishes their results for the collector (ARCHITECTURE §3, step 2).
//
// Per delivery from "inference_requests.<model>":
//   1. unparseable -> Nack without requeue (the broker dead-letters it and hands the notice
//      back, see 7); past its deadline -> an `expired` result, nothing generated;
//   2. Store::MarkRunning; false (already terminal, e.g. cancelled while queued) -> Ack, drop;
//   3. watch for cancellation (below), publish `started`, Submit to the backend;
//   4. each piece of text -> a `token` event (pieces that pile up while the publisher is busy
//      go out as one event; order is kept);
//   5. while generating, the lease is extended every third of the visibility timeout;
//   6. on done: publish a ResultMessage on "inference_results" (durable), THEN Ack. A crash in
//      between means redelivery and a second result; the collector's idempotency turns that
//      into one finalize and one settle. Results use the request id as message id, so a second
//      result is dropped while the first is still queued. (In one process, record_result hands
//      the result to the collector directly; see WorkerOptions.)
//   7. a dead-letter notice (Delivery::dead_lettered) -> a `failed` result ("poison_message"
//      when the payload is unreadable, "max_deliveries_exceeded" otherwise), so the request
//      ends and its reservation is refunded; then Ack.
// In one process the gateway can also hand a request over before it is even written
// (TryStartInProcess below).
// Prefetch follows the backend: the worker consumes at most FreeSlots() messages at a time
// (and holds at most max_in_flight), so requests wait in the queue, where other workers can
// take them, rather than inside a busy worker.
//
// Cancellation (DELETE /v1/requests/{id}): the gateway calls Store::CancelRequest and publishes
// the terminal `cancelled` event (embedded, it may also call Worker::Cancel directly through
// its cancel_running hook). The worker notices it in three ways, whichever comes first:
//   - it subscribes to each running request's events and takes any terminal event it did not
//     cause as a cancel (immediate in embedded mode);
//   - publishing a token event fails with FailedPrecondition (the stream has ended);
//   - it polls Store::GetRequest every cancel_poll_interval per running request; a terminal
//     record is a cancel (covers a lost pub/sub message or a gateway that died between the
//     store and the bus).
// It then cancels the backend handle; the result it publishes is `cancelled` with the usage
// actually consumed, which the collector bills (the rest of the reservation is refunded).
//
// Stop(): stops consuming, lets running generations finish for stop_grace, then cancels the
// rest and gives their messages back (Nack with requeue) for another worker or the next start.
//
// The worker uses only the seams (Broker, Store, EventBus, ModelBackend), never a concrete
// implementation, so the same code runs embedded and distributed.
//
// Threads: one consumer thread (blocks in Consume, MarkRunning, Submit), one housekeeping thread
// (leases, cancellation), and `dispatch_threads` that publish events and results in
// per-request order (ordered_executor.h). Backend callbacks only queue work.
//
// Thread-safety: Start and Stop from one controlling thread; in_flight() from any thread. The
// broker, store, bus and backend must outlive the Worker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/metrics.h"
#include "common/status.h"
#include "events/event_bus.h"
#include "protocol/messages.h"
#include "queue/broker.h"
#include "store/store.h"
#include "worker/model_backend.h"
#include "worker/ordered_executor.h"
#include "worker/worker_metrics.h"

namespace inferline::worker {

struct WorkerOptions {
  std::string model;      // consumes RequestQueueName(model)
  std::string worker_id;  // recorded on requests and results; empty: "<host>-<pid>"
  int max_in_flight = 64;
  // Lease of each delivery; extended every third of it while generating.
  std::chrono::milliseconds visibility_timeout{std::chrono::seconds(60)};
  // The longest one Consume blocks; bounds how long Stop waits for the consumer thread.
  std::chrono::milliseconds consume_wait{std::chrono::milliseconds(500)};
  std::chrono::milliseconds cancel_poll_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds stop_grace{std::chrono::seconds(30)};
  // After cancelling on Stop, how long to wait for the backend to report before giving up.
  std::chrono::milliseconds cancel_grace{std::chrono::seconds(5)};
  // Delay before a message given back after a transient error is visible again.
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};
  // Outages must not spend deliveries. While the store cannot record that a request started,
  // the worker keeps the delivery (extending its lease), stops consuming and retries with
  // backoff for this long before giving the message back; while the broker cannot take a
  // result, the worker keeps the result and retries publishing it for this long before giving
  // up (the request then runs again). Giving up at once would count a delivery each time, and
  // an outage of a few seconds would dead-letter accepted requests as `failed`.
  std::chrono::milliseconds outage_hold{std::chrono::minutes(5)};
  int dispatch_threads = 2;
  // The wall clock for deadlines and queue wait; tests inject one.
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
  metrics::Registry* registry = nullptr;  // null: metrics::Registry::Default()
  // When set, a result is recorded by calling this (the embedded deployment: the collector in the
  // same process finalizes, settles and publishes the terminal event) and the request's message
  // is acked after it returns ok, instead of going through the results queue: a sync request
  // waits for two fewer commits and one thread hand-off less. On an error the result takes the
  // queue as usual. A crash between the two redelivers a request that is final already, which
  // the next delivery drops.
  std::function<Status(const protocol::ResultMessage&)> record_result;
  // Fault injection for crash tests: called after a result was published and before its ack;
  // returning true skips the ack and forgets the delivery, as if the process died there.
  std::function<bool(std::string_view request_id)> crash_before_ack;
};

class Worker {
 public:
  // Token text held back while nobody follows a request live is published anyway once it
  // reaches this many bytes, so that no event grows past the bus's size limit.
  static constexpr size_t kHeldTextLimit = 64 * 1024;
  // While nobody follows, whether someone started to is asked at most this often per request.
  static constexpr std::chrono::milliseconds kFollowerRecheck{2};

  Worker(queue::Broker& broker, store::Store& store, events::EventBus& bus,
         std::shared_ptr<ModelBackend> backend, WorkerOptions options);
  ~Worker();  // Stop()

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the threads. InvalidArgument for a model name that makes no queue name;
  // FailedPrecondition when already started.
  [[nodiscard]] Status Start();
  // Graceful stop (see above). Idempotent.
  void Stop();

  // Cancels the request if this worker is generating it (as a cancel seen on the bus or in
  // the store would); returns whether it was. For an embedded gateway's direct hook; any
  // thread.
  bool Cancel(std::string_view request_id);

  // In-process start (the embedded gateway, whose queue is this process's database): when a
  // backend slot is free and the queue had nothing waiting at the last look, starts generating
  // `message` at once, before its record and queue message are written, and returns the lease
  // the caller puts on that message (store::OutboxMessage::direct) in the create step it
  // submits next; then it calls InProcessSubmitted. Null: not taken, queue it as usual.
  //
  // The generation runs while the record commits. The worker then marks the request running
  // (a write that commits after the create, in the store's order) and only after that
  // publishes `started` and the tokens held back meanwhile, and records the result: nothing of
  // a request that was not recorded (the create failed: MarkRunning finds no record) is ever
  // published, and such a generation is cancelled. Any thread; does not block.
  std::shared_ptr<store::DirectLease> TryStartInProcess(const protocol::RequestMessage& message);
  void InProcessSubmitted(std::string_view request_id);

  int in_flight() const;
  const std::string& worker_id() const { return options_.worker_id; }

  struct Task;  // one request being generated (worker.cc)

 private:
  struct Gate;  // lets backend callbacks outlive the Worker safely

  void ConsumeLoop();
  void HousekeepingLoop();
  void HandleDelivery(queue::Delivery delivery);
  // MarkRunning, retried while the store is unavailable (outage_hold above). Sets
  // *lease_lost when the delivery's lease could not be extended meanwhile (the message went
  // to another consumer): the caller must then leave it alone.
  Result<bool> MarkRunningHolding(queue::Delivery& d, const std::string& request_id,
                                  bool* lease_lost);
  void HandleDeadLetter(const queue::Delivery& delivery);
  // A task for `request`, taken now (lane, lease-extension and cancel-poll times set).
  std::shared_ptr<Task> NewTask(protocol::RequestMessage request, int attempt,
                                double queue_wait_seconds);
  // Registers the task (unless `registered`), watches for cancellation, publishes `started`
  // (unless the task waits for its record, see TryStartInProcess) and submits it.
  void StartTask(std::shared_ptr<Task> task, bool registered = false);
  // On the task's lane, once its record's create step was submitted: MarkRunning, then
  // `started` and the held-back tokens and result, or dropping the generation.
  void Announce(const std::shared_ptr<Task>& task);
  void PublishStarted(Task& task);
  void OnToken(Task& task, std::string_view piece, int index);
  void FlushTokens(Task& task);
  void Finish(const std::shared_ptr<Task>& task, BackendResult result);
  void RequestCancel(Task& task);
  void Housekeep(Task& task, std::chrono::steady_clock::time_point now);
  // Publishes `result` (retrying transient errors) and acks `delivery`; on failure gives the
  // message back for a retry. Returns whether the result went out.
  bool PublishAndAck(const queue::Delivery& delivery, const protocol::ResultMessage& result);
  void Remove(const Task& task);
  void Count(std::string_view status);
  bool WaitIdle(std::chrono::milliseconds timeout);

  queue::Broker& broker_;
  store::Store& store_;
  events::EventBus& bus_;
  std::shared_ptr<ModelBackend> backend_;
  WorkerOptions options_;
  std::string queue_;
  WorkerMetrics metrics_;
  std::shared_ptr<Gate> gate_;
  std::unique_ptr<OrderedExecutor> dispatch_;

  mutable std::mutex mu_;           // guards tasks_, started_; signalled by changed_
  std::condition_variable changed_;  // a task ended, or stopping_ was set
  std::map<std::string, std::shared_ptr<Task>, std::less<>> tasks_;  // by request id
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  // The last Consume brought fewer messages than there was room for: nothing waits in the
  // queue, so an in-process start cannot overtake anyone.
  std::atomic<bool> queue_drained_{false};
  std::thread consumer_;

  std::mutex hk_mu_;  // guards hk_wake_, hk_stop_
  std::condition_variable hk_cv_;
  bool hk_wake_ = false;
  bool hk_stop_ = false;
  std::thread housekeeper_;
};

}  // namespace inferline::worker
