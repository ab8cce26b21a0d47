#include "store/postgres/outbox_relay.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cerrno>

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

namespace inferline::store {
namespace {

const PgStatement kClaim{
    "outbox_claim",
    "SELECT id, queue, payload, message_id, model, tokens, priority FROM outbox "
    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"};
const PgStatement kClaimOlder{
    "outbox_claim_older",
    "SELECT id, queue, payload, message_id, model, tokens, priority FROM outbox "
    "WHERE created_at < $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"};
const PgStatement kDelete{"outbox_delete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])"};

// What a batch's publish came to: the confirmed rows' ids as a PostgreSQL array literal, how
// many, the first refusal, and which messages were refused.
struct Published {
  std::string ids = "{";
  int count = 0;
  Status first_error;
  std::vector<size_t> refused;
};

Published PublishAll(queue::Broker& broker, const std::vector<queue::OutgoingMessage>& batch,
                     const std::function<std::string(size_t)>& id_of, PostgresMetrics& metrics) {
  std::vector<Status> results = broker.PublishBatch(batch);
  Published out;
  for (size_t i = 0; i < batch.size(); ++i) {
    // A broker that answers fewer results than messages leaves the unanswered rows in place.
    Status st = i < results.size() ? results[i] : Internal("the broker gave no answer");
    if (!st.ok()) {
      metrics.outbox_publish_errors_total.Inc();
      if (out.first_error.ok()) {
        out.first_error = st.Annotate(fmt::format("publishing outbox row to {}", batch[i].queue));
      }
      out.refused.push_back(i);
      continue;
    }
    if (out.count++ > 0) out.ids += ',';
    out.ids += id_of(i);
  }
  out.ids += '}';
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

OutboxRelay::OutboxRelay(PostgresOptions db, queue::Broker& broker, OutboxRelayOptions options)
    : db_(std::move(db)),
      broker_(broker),
      options_(options),
      metrics_(db_.metrics ? *db_.metrics : metrics::Registry::Default()) {
  options_.batch_size = std::clamp(options_.batch_size, 1, 10000);
}

OutboxRelay::~OutboxRelay() {
  Stop();
  for (int fd : wake_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

Status OutboxRelay::Start() {
  if (thread_.joinable()) return Status::Ok();
  if (wake_fds_[0] < 0 && ::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Internal("outbox relay: cannot create its wake-up pipe");
  }
  DrainWakeups();  // a previous Stop's byte
  stopping_ = false;
  thread_ = std::thread([this] {
    NameThisThread("outbox-relay");
    Loop();
  });
  return Status::Ok();
}

void OutboxRelay::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  char c = 1;
  (void)!::write(wake_fds_[1], &c, 1);
  thread_.join();
}

Result<int> OutboxRelay::Sweep(PgConnection& conn, std::optional<int64_t> before_ms) {
  RETURN_IF_ERROR(conn.Exec("BEGIN").status());
  auto rows = before_ms ? conn.Run(kClaimOlder, MakePgParams(options_.batch_size, *before_ms))
                        : conn.Run(kClaim, MakePgParams(options_.batch_size));
  if (!rows.ok()) {
    if (conn.ok()) (void)conn.Exec("ROLLBACK");
    return rows.status();
  }
  std::vector<queue::OutgoingMessage> batch;
  batch.reserve(static_cast<size_t>(rows->rows()));
  for (int i = 0; i < rows->rows(); ++i) {
    batch.push_back({std::string(rows->Text(i, 1)), std::string(rows->Text(i, 2)),
                     queue::MessageMeta{rows->String(i, 3), rows->String(i, 4), rows->Int(i, 5),
                                        static_cast<int>(rows->Int(i, 6))}});
  }
  Published done = PublishAll(
      broker_, batch, [&](size_t i) { return std::string(rows->Text(static_cast<int>(i), 0)); },
      metrics_);
  Status st;
  if (done.count > 0) st = conn.Run(kDelete, PgParams{done.ids}).status();
  if (st.ok()) st = conn.Exec("COMMIT").status();
  if (!st.ok()) {
    // Published but not deleted: the next pass publishes these rows again (at-least-once).
    if (conn.ok()) (void)conn.Exec("ROLLBACK");
    return st;
  }
  published_.fetch_add(static_cast<uint64_t>(done.count), std::memory_order_relaxed);
  metrics_.outbox_published_total.Inc(done.count);
  if (!done.first_error.ok()) return done.first_error;
  return done.count;
}

void OutboxRelay::Offer(PostgresStore::CommittedOutbox row) {
  {
    std::lock_guard lock(handed_mu_);
    if (handed_.size() >= options_.max_handed) return;  // a sweep takes it later
    handed_.push_back(Handed{std::move(row), std::chrono::steady_clock::now()});
  }
  Wake();
}

bool OutboxRelay::HasHanded() {
  std::lock_guard lock(handed_mu_);
  return !handed_.empty();
}

Result<int> OutboxRelay::RelayHanded(PgConnection& conn) {
  // Rows older than this may be swept by another replica: leave them to the sweeps.
  const int64_t oldest_ms = NowMs() - options_.sweep_after.count() / 2;
  std::vector<Handed> batch;
  {
    std::lock_guard lock(handed_mu_);
    while (!handed_.empty() && batch.size() < static_cast<size_t>(options_.batch_size)) {
      Handed h = std::move(handed_.front());
      handed_.pop_front();
      if (options_.sweep_after.count() > 0 && h.row.created_at_ms < oldest_ms) continue;
      batch.push_back(std::move(h));
    }
  }
  if (batch.empty()) return 0;
  std::vector<queue::OutgoingMessage> out;
  out.reserve(batch.size());
  for (Handed& h : batch) {
    OutboxMessage& m = h.row.message;
    out.push_back({std::move(m.queue), std::move(m.payload), std::move(m.meta)});
  }
  Published done = PublishAll(
      broker_, out, [&](size_t i) { return std::to_string(batch[i].row.id); }, metrics_);
  std::vector<Handed> refused;
  for (size_t i : done.refused) {
    OutboxMessage& m = batch[i].row.message;
    m.queue = std::move(out[i].queue);
    m.payload = std::move(out[i].payload);
    m.meta = std::move(out[i].meta);
    refused.push_back(std::move(batch[i]));
  }
  if (!refused.empty()) {  // first in line again, in their order, for after the backoff
    std::lock_guard lock(handed_mu_);
    for (auto it = refused.rbegin(); it != refused.rend(); ++it) {
      handed_.push_front(std::move(*it));
    }
  }
  if (done.count > 0) {
    // Published but not deleted: a sweep publishes these rows again (at-least-once).
    RETURN_IF_ERROR(conn.Run(kDelete, PgParams{done.ids}).status());
  }
  published_.fetch_add(static_cast<uint64_t>(done.count), std::memory_order_relaxed);
  metrics_.outbox_published_total.Inc(done.count);
  if (!done.first_error.ok()) return done.first_error;
  return done.count;
}

void OutboxRelay::Wake() {
  if (wake_fds_[1] < 0 || wake_pending_.exchange(true)) return;
  char c = 1;
  if (::write(wake_fds_[1], &c, 1) != 1 && errno != EAGAIN) {
    wake_pending_.store(false);  // no byte went in: let the next Wake try again
  }
}

void OutboxRelay::DrainWakeups() {
  char drain[64];
  while (::read(wake_fds_[0], drain, sizeof drain) > 0) {
  }
  // Cleared after the drain and before the next pass claims rows: a Wake before this point is
  // for a row that pass will see; one after it writes a new byte, so the next Wait returns at
  // once and no row is left waiting for the poll.
  wake_pending_.store(false);
}

void OutboxRelay::Wait(std::chrono::milliseconds timeout, bool wakes) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd fd{wake_fds_[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&fd, 1, static_cast<int>(left.count())) <= 0) return;
    DrainWakeups();
    // A backoff after a failed pass is not cut short by new rows (they wait for the retry),
    // only by Stop.
    if (wakes || stopping_) return;
  }
}

void OutboxRelay::Loop() {
  std::unique_ptr<PgConnection> work;
  std::chrono::milliseconds backoff{0};
  auto next_sweep = std::chrono::steady_clock::now();
  bool swept_last = false;  // a due sweep and handed rows take turns, so neither starves
  while (!stopping_) {
    Status st;
    bool more = false;  // work is left for the next turn at once
    if (!work || !work->CheckAlive()) {
      work.reset();
      auto conn = PgConnection::Connect(db_);
      if (conn.ok()) {
        work = std::move(*conn);
      } else {
        st = conn.status();
      }
    }
    if (work) {
      const auto now = std::chrono::steady_clock::now();
      const bool handed = HasHanded();
      if (now >= next_sweep && (!handed || !swept_last)) {
        std::optional<int64_t> before;
        if (options_.sweep_after.count() > 0) before = NowMs() - options_.sweep_after.count();
        Result<int> n = Sweep(*work, before);
        st = n.status();
        swept_last = true;
        // A full batch means a backlog: due again, after the handed rows' turn.
        next_sweep = n.ok() && *n >= options_.batch_size ? now : now + options_.poll_interval;
        more = true;
      } else if (handed) {
        st = RelayHanded(*work).status();
        swept_last = false;
        more = true;
      }
    }
    if (!st.ok()) {
      backoff = std::clamp(backoff * 2, options_.min_backoff, options_.max_backoff);
      log::Warn("outbox relay: {} (retrying in {} ms)", st.ToString(), backoff.count());
      Wait(backoff, /*wakes=*/false);
      continue;
    }
    backoff = std::chrono::milliseconds{0};
    if (more && (HasHanded() || std::chrono::steady_clock::now() >= next_sweep)) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        next_sweep - std::chrono::steady_clock::now());
    if (left.count() > 0) Wait(left, /*wakes=*/true);
  }
  // Stopping: the rows handed over last go out now rather than with a later sweep, unless the
  // broker or the database was failing (the pass could then wait for the publish timeout).
  if (work && backoff.count() == 0 && HasHanded()) (void)RelayHanded(*work);
}

}  // namespace inferline::store
