// OutboxRelay: moves the outbox rows that PostgresStore::CreateRequest commits together with
// request records into the broker (the distributed half of "accept is one atomic step").
//
// A pass claims up to batch_size rows in id order with FOR UPDATE SKIP LOCKED (so several
// relays, one per gateway replica, share the work without waiting on each other), hands them
// all to Broker::PublishBatch (RabbitMQ pipelines them and waits for every confirm), then
// deletes exactly the rows the broker confirmed and commits. Rows the broker refused (a full
// queue, an outage) stay, and the relay retries them after a backoff. Delivery is
// at-least-once: a relay that dies between publishing and committing leaves its rows for the
// next pass, which publishes them again; consumers dedupe on the message id (the request id).
//
// The relay thread sleeps until Wake() (the gateway in the same process committed a row:
// PostgresStore::SetOutboxCommitted) or poll_interval passes: polling picks up rows that
// another replica committed and could not relay (it stopped or crashed first).
//
// Thread-safety: Start/Stop from the owning thread; Wake from any thread, at any time while the
// relay exists. RelayOnce runs on the caller's thread with the caller's session, and may run
// while the relay thread does (SKIP LOCKED keeps them apart). published() is atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "common/status.h"
#include "queue/broker.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_metrics.h"
#include "store/postgres/postgres_options.h"

namespace inferline::store {

struct OutboxRelayOptions {
  int batch_size = 200;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds min_backoff{50};   // after a failed pass, doubling up to max
  std::chrono::milliseconds max_backoff{5000};
};

class OutboxRelay {
 public:
  // `broker` must outlive the relay.
  OutboxRelay(PostgresOptions db, queue::Broker& broker, OutboxRelayOptions options = {});
  ~OutboxRelay();  // Stop()
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Starts the relay thread. Internal when the wake-up pipe cannot be made.
  [[nodiscard]] Status Start();
  // Wakes and joins the thread; rows being published finish their pass first. Idempotent.
  void Stop();
  // Rows were committed: the relay makes a pass now (at most one wake-up is pending at a time,
  // and one that comes during a pass makes another).
  void Wake();

  // One pass on `conn`: returns how many rows were published and deleted, or, when the broker
  // refused some rows, the first refusal (after committing the deletion of the confirmed
  // rows).
  [[nodiscard]] Result<int> RelayOnce(PgConnection& conn);

  uint64_t published() const { return published_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  // Sleeps until `timeout` passes or Stop; with `wakes`, also until Wake.
  void Wait(std::chrono::milliseconds timeout, bool wakes);
  // Empties the wake-up pipe and clears wake_pending_.
  void DrainWakeups();

  PostgresOptions db_;
  queue::Broker& broker_;
  OutboxRelayOptions options_;
  PostgresMetrics metrics_;
  std::atomic<uint64_t> published_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> wake_pending_{false};  // a byte for Wake is in the pipe, unread
  int wake_fds_[2] = {-1, -1};  // Stop and Wake write to [1]; Wait polls [0]
  std::thread thread_;
};

}  // namespace inferline::store
