// OutboxRelay: moves the outbox rows that PostgresStore::CreateRequest commits together with
// request records into the broker (the distributed half of "accept is one atomic step").
//
// Two ways in, both ending with the row deleted once the broker confirmed it:
// - Hand-off: the gateway's own store hands each committed row over (Offer, from
//   PostgresStore::SetOutboxCommitted) with everything it holds. The relay publishes it from
//   memory, then deletes it: no claim and no read in the database. A row not published while
//   younger than sweep_after / 2 (the broker is down or refuses it) is forgotten, and a sweep
//   takes it from the table. Sweeps and hand-offs take turns, so neither starves the other.
// - Sweep: a pass claims up to batch_size rows older than sweep_after in id order with FOR
//   UPDATE SKIP LOCKED (so several relays, one per gateway replica, share the work without
//   waiting on each other), hands them all to Broker::PublishBatch (RabbitMQ pipelines them and
//   waits for every confirm), then deletes exactly the rows the broker confirmed and commits.
//   This relays the rows of a replica that stopped or crashed before relaying them, and this
//   replica's rows that the hand-off gave up on. The age keeps sweeps off rows that the
//   replica which committed them is publishing from memory.
// Rows the broker refused (a full queue, an outage) stay, and are retried after a backoff.
// Delivery is at-least-once: a relay that dies between publishing and deleting leaves its rows
// for a later sweep, which publishes them again (as would a hand-off slower than sweep_after /
// 2); consumers dedupe on the message id (the request id).
//
// The relay thread sleeps until a row is offered or poll_interval passes (then it sweeps).
//
// Thread-safety: Start/Stop from the owning thread; Offer from any thread, at any time while
// the relay exists. RelayOnce runs on the caller's thread with the caller's session, and may
// run while the relay thread does (SKIP LOCKED keeps them apart). published() is atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/status.h"
#include "queue/broker.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_metrics.h"
#include "store/postgres/postgres_options.h"
#include "store/postgres/postgres_store.h"

namespace inferline::store {

struct OutboxRelayOptions {
  int batch_size = 200;
  std::chrono::milliseconds poll_interval{1000};  // between sweeps
  // A sweep takes rows older than this (by their created_at); 0: every row. Rows handed over
  // are published from memory while younger than half of it. Keep it above twice the broker's
  // publish timeout (RabbitMQ: 30 s), so that no sweep claims a row whose hand-off publish is
  // still waiting for its confirm.
  std::chrono::milliseconds sweep_after{60'000};
  size_t max_handed = 20'000;  // rows held for the hand-off; past it, new ones are left to sweeps
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
  // A row this process committed: the relay publishes it from memory (see above).
  void Offer(PostgresStore::CommittedOutbox row);

  // One sweep on `conn`, of every row whatever its age: returns how many rows were published
  // and deleted, or, when the broker refused some rows, the first refusal (after committing
  // the deletion of the confirmed rows).
  [[nodiscard]] Result<int> RelayOnce(PgConnection& conn) { return Sweep(conn, std::nullopt); }

  uint64_t published() const { return published_.load(std::memory_order_relaxed); }

 private:
  struct Handed {
    PostgresStore::CommittedOutbox row;
    std::chrono::steady_clock::time_point at;  // handed over
  };

  void Loop();
  // A sweep of the rows created before `before_ms` (all without it).
  Result<int> Sweep(PgConnection& conn, std::optional<int64_t> before_ms);
  // Publishes up to batch_size handed rows and deletes the confirmed ones: how many.
  Result<int> RelayHanded(PgConnection& conn);
  bool HasHanded();
  // Sleeps until `timeout` passes or Stop; with `wakes`, also until a row is offered.
  void Wait(std::chrono::milliseconds timeout, bool wakes);
  // Empties the wake-up pipe and clears wake_pending_.
  void DrainWakeups();
  void Wake();

  PostgresOptions db_;
  queue::Broker& broker_;
  OutboxRelayOptions options_;
  PostgresMetrics metrics_;
  std::atomic<uint64_t> published_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> wake_pending_{false};  // a byte for Wake is in the pipe, unread
  std::mutex handed_mu_;
  std::deque<Handed> handed_;  // guarded by handed_mu_, in commit order
  int wake_fds_[2] = {-1, -1};  // Stop and Wake write to [1]; Wait polls [0]
  std::thread thread_;
};

}  // namespace inferline::store
