#include "store/postgres/outbox_relay.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/log.h"
#include "common/metrics.h"

namespace inferline::store {
namespace {

const PgStatement kClaim{
    "outbox_claim",
    "SELECT id, queue, payload, message_id, model, tokens, priority FROM outbox "
    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"};
const PgStatement kDelete{"outbox_delete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])"};

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
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void OutboxRelay::Stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  char c = 1;
  (void)!::write(wake_fds_[1], &c, 1);
  thread_.join();
}

Result<int> OutboxRelay::RelayOnce(PgConnection& conn) {
  RETURN_IF_ERROR(conn.Exec("BEGIN").status());
  auto rows = conn.Run(kClaim, MakePgParams(options_.batch_size));
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
  std::vector<Status> results = broker_.PublishBatch(batch);
  std::string ids = "{";
  int published = 0;
  Status publish_error;
  for (size_t i = 0; i < batch.size(); ++i) {
    // A broker that answers fewer results than messages leaves the unanswered rows in place.
    Status st = i < results.size() ? results[i] : Internal("the broker gave no answer");
    if (!st.ok()) {
      metrics_.outbox_publish_errors_total.Inc();
      if (publish_error.ok()) {
        publish_error = st.Annotate(fmt::format("publishing outbox row to {}", batch[i].queue));
      }
      continue;
    }
    if (published++ > 0) ids += ',';
    ids += rows->Text(static_cast<int>(i), 0);
  }
  ids += '}';
  Status st;
  if (published > 0) st = conn.Run(kDelete, PgParams{ids}).status();
  if (st.ok()) st = conn.Exec("COMMIT").status();
  if (!st.ok()) {
    // Published but not deleted: the next pass publishes these rows again (at-least-once).
    if (conn.ok()) (void)conn.Exec("ROLLBACK");
    return st;
  }
  published_.fetch_add(static_cast<uint64_t>(published), std::memory_order_relaxed);
  metrics_.outbox_published_total.Inc(published);
  if (!publish_error.ok()) return publish_error;
  return published;
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
  while (!stopping_) {
    Status st;
    int published = 0;
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
      Result<int> n = RelayOnce(*work);
      st = n.status();
      if (n.ok()) published = *n;
    }
    if (!st.ok()) {
      backoff = std::clamp(backoff * 2, options_.min_backoff, options_.max_backoff);
      log::Warn("outbox relay: {} (retrying in {} ms)", st.ToString(), backoff.count());
      Wait(backoff, /*wakes=*/false);
      continue;
    }
    backoff = std::chrono::milliseconds{0};
    if (published < options_.batch_size) Wait(options_.poll_interval, /*wakes=*/true);
  }
}

}  // namespace inferline::store
