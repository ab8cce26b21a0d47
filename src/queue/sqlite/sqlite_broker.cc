#include "queue/sqlite/sqlite_broker.h"

#include <fmt/format.h>

#include <algorithm>

#include "store/sqlite/queue_table.h"
#include "store/types.h"

namespace inferline::queue {
namespace {

using store::Connection;
using store::Statement;
using store::WriteTx;

Status StaleLease() {
  return FailedPrecondition(
      "the delivery's lease is no longer current (expired and redelivered, or already settled)");
}

Result<std::optional<int64_t>> QueryMin(Connection& c, std::string_view sql,
                                        const std::string& queue, int64_t now_ms) {
  ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
  st.Bind(1, queue).Bind(2, now_ms);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<int64_t>();
  return st.OptInt(0);
}

}  // namespace

SqliteBroker::SqliteBroker(std::shared_ptr<store::SqliteDatabase> db, SqliteBrokerOptions options)
    : db_(std::move(db)), options_(std::move(options)) {
  options_.max_deliveries = std::max(1, options_.max_deliveries);
}

int64_t SqliteBroker::NowMs() const { return store::ToMillis(options_.now()); }

Status SqliteBroker::Publish(std::string_view queue, std::string_view payload,
                             const MessageMeta& meta) {
  int64_t now = NowMs();
  return db_->Write([&](WriteTx& tx) {
    return store::InsertQueueMessage(tx, db_->queue_signals(), queue, payload, meta, now, now);
  });
}

Result<SqliteBroker::LeaseResult> SqliteBroker::TryLease(const std::string& queue,
                                                         const ConsumeOptions& options) {
  int64_t now = NowMs();
  int64_t until = now + options.visibility_timeout.count();
  LeaseResult out;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    Connection& c = tx.conn();
    out.deliveries.clear();  // a retried batch starts over
    ASSIGN_OR_RETURN(Statement reclaim, c.Prepare(
        "UPDATE queue_messages SET state = 0, lease_until = NULL "
        "WHERE queue = ?1 AND state = 1 AND lease_until <= ?2"));
    RETURN_IF_ERROR(reclaim.Bind(1, queue).Bind(2, now).Run());

    ASSIGN_OR_RETURN(Statement pick, c.Prepare(
        "SELECT id, payload, COALESCE(message_id, record_id), model, tokens, priority, "
        "deliveries, dead "
        "FROM queue_messages WHERE queue = ?1 AND state = 0 AND visible_at <= ?2 "
        "ORDER BY priority DESC, id LIMIT ?3"));
    pick.Bind(1, queue).Bind(2, now).Bind(3, int64_t{options.max_messages});
    while (true) {
      ASSIGN_OR_RETURN(bool row, pick.Step());
      if (!row) break;
      Delivery d;
      d.queue = queue;
      d.tag = static_cast<uint64_t>(pick.Int(0));
      d.payload = pick.Text(1);
      d.meta = MessageMeta{pick.Text(2), pick.Text(3), pick.Int(4), static_cast<int>(pick.Int(5))};
      int64_t previous = pick.Int(6);
      d.delivery_count = static_cast<int>(previous + 1);
      d.lease = static_cast<uint64_t>(previous + 1);
      d.dead_lettered = pick.Int(7) != 0 || previous >= options_.max_deliveries;
      out.deliveries.push_back(std::move(d));
    }
    ASSIGN_OR_RETURN(Statement lease, c.Prepare(
        "UPDATE queue_messages SET state = 1, deliveries = ?2, dead = ?3, lease_until = ?4 "
        "WHERE id = ?1"));
    for (const Delivery& d : out.deliveries) {
      RETURN_IF_ERROR(lease.Bind(1, static_cast<int64_t>(d.tag))
                          .Bind(2, static_cast<int64_t>(d.lease))
                          .Bind(3, int64_t{d.dead_lettered})
                          .Bind(4, until)
                          .Run());
    }
    if (!out.deliveries.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(auto next_lease, QueryMin(c,
        "SELECT MIN(lease_until) FROM queue_messages WHERE queue = ?1 AND state = 1 "
        "AND lease_until > ?2", queue, now));
    ASSIGN_OR_RETURN(auto next_visible, QueryMin(c,
        "SELECT MIN(visible_at) FROM queue_messages WHERE queue = ?1 AND state = 0 "
        "AND visible_at > ?2", queue, now));
    out.next_wake_ms = next_lease;
    if (next_visible && (!out.next_wake_ms || *next_visible < *out.next_wake_ms)) {
      out.next_wake_ms = next_visible;
    }
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<Delivery>> SqliteBroker::Consume(std::string_view queue_view,
                                                    const ConsumeOptions& options) {
  RETURN_IF_ERROR(ValidateConsume(queue_view, options));
  std::string queue(queue_view);
  auto deadline = std::chrono::steady_clock::now() + options.wait;
  store::ChangeSignal& signal = db_->queue_signals().For(queue);
  while (!shutdown_.load()) {
    uint64_t seen = signal.version();  // before looking, so no commit slips between
    ASSIGN_OR_RETURN(LeaseResult got, TryLease(queue, options));
    if (!got.deliveries.empty()) return std::move(got.deliveries);
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto wake = deadline;
    if (got.next_wake_ms) {
      auto until_next = std::chrono::milliseconds(std::max<int64_t>(1, *got.next_wake_ms - NowMs()));
      wake = std::min(wake, now + until_next);
    }
    signal.WaitChange(seen, wake);
  }
  return std::vector<Delivery>();
}

namespace {

// Acks inside the writer's transaction: true when this lease still held the message.
Result<bool> AckIn(Connection& c, const Delivery& delivery) {
  // A normal message goes away; a dead-letter notice stays in the dead-letter queue, reported.
  ASSIGN_OR_RETURN(Statement del, c.Prepare(
      "DELETE FROM queue_messages WHERE id = ?1 AND state = 1 AND deliveries = ?2 "
      "AND dead = 0"));
  RETURN_IF_ERROR(del.Bind(1, static_cast<int64_t>(delivery.tag))
                      .Bind(2, static_cast<int64_t>(delivery.lease)).Run());
  if (c.Changes() > 0) return true;
  ASSIGN_OR_RETURN(Statement keep, c.Prepare(
      "UPDATE queue_messages SET state = 2, lease_until = NULL WHERE id = ?1 AND state = 1 "
      "AND deliveries = ?2 AND dead = 1"));
  RETURN_IF_ERROR(keep.Bind(1, static_cast<int64_t>(delivery.tag))
                      .Bind(2, static_cast<int64_t>(delivery.lease)).Run());
  return c.Changes() > 0;
}

}  // namespace

Status SqliteBroker::Ack(const Delivery& delivery) {
  bool done = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(done, AckIn(tx.conn(), delivery));
    return Status::Ok();
  }));
  return done ? Status::Ok() : StaleLease();
}

Broker::PublishAckResult SqliteBroker::PublishAndAck(std::string_view queue,
                                                     std::string_view payload,
                                                     const MessageMeta& meta,
                                                     const Delivery& delivery) {
  const int64_t now = NowMs();
  bool acked = false;
  PublishAckResult r;
  r.published = db_->Write([&](WriteTx& tx) -> Status {
    RETURN_IF_ERROR(
        store::InsertQueueMessage(tx, db_->queue_signals(), queue, payload, meta, now, now));
    // A stale lease does not undo the publish: the result stands, the ack reports it.
    ASSIGN_OR_RETURN(acked, AckIn(tx.conn(), delivery));
    return Status::Ok();
  });
  if (r.published.ok() && !acked) r.acked = StaleLease();
  return r;
}

Result<NackOutcome> SqliteBroker::Nack(const Delivery& delivery, bool requeue,
                                       std::chrono::milliseconds delay) {
  if (delay.count() < 0) return InvalidArgument("delay must be >= 0", "delay");
  // Out of deliveries, or rejected: dead-letter now, so the next Consume brings the notice.
  bool dead = !requeue || delivery.dead_lettered ||
              delivery.delivery_count >= options_.max_deliveries;
  int64_t visible = NowMs() + (dead ? 0 : delay.count());
  bool done = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement st, tx.conn().Prepare(
        "UPDATE queue_messages SET state = 0, lease_until = NULL, visible_at = ?3, "
        "dead = MAX(dead, ?4) WHERE id = ?1 AND state = 1 AND deliveries = ?2"));
    RETURN_IF_ERROR(st.Bind(1, static_cast<int64_t>(delivery.tag))
                        .Bind(2, static_cast<int64_t>(delivery.lease))
                        .Bind(3, visible)
                        .Bind(4, int64_t{dead})
                        .Run());
    done = tx.conn().Changes() > 0;
    // The message is back in its queue or in the dead-letter queue: wake both kinds.
    if (done) tx.AfterCommit([this] { db_->queue_signals().NotifyAll(); });
    return Status::Ok();
  }));
  if (!done) return StaleLease();
  return dead ? NackOutcome::kDeadLettered : NackOutcome::kRequeued;
}

Status SqliteBroker::ExtendLease(const Delivery& delivery, std::chrono::milliseconds extension) {
  if (extension.count() <= 0) return InvalidArgument("extension must be positive", "extension");
  int64_t until = NowMs() + extension.count();
  bool done = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement st, tx.conn().Prepare(
        "UPDATE queue_messages SET lease_until = ?3 WHERE id = ?1 AND state = 1 "
        "AND deliveries = ?2"));
    RETURN_IF_ERROR(st.Bind(1, static_cast<int64_t>(delivery.tag))
                        .Bind(2, static_cast<int64_t>(delivery.lease))
                        .Bind(3, until)
                        .Run());
    done = tx.conn().Changes() > 0;
    return Status::Ok();
  }));
  return done ? Status::Ok() : StaleLease();
}

Result<QueueStats> SqliteBroker::Stats(std::string_view queue_view) {
  RETURN_IF_ERROR(ValidateQueueName(queue_view));
  bool dlq = IsDeadLetterQueueName(queue_view);
  std::string queue(dlq ? queue_view.substr(0, queue_view.size() - kDeadLetterSuffix.size())
                        : queue_view);
  return db_->Read([&](Connection& c) -> Result<QueueStats> {
    // queue_counts is kept in the writing transactions (migrations 0002, 0003): no backlog scan.
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT state, dead, n, tokens FROM queue_counts WHERE queue = ?1 AND n > 0"));
    st.Bind(1, queue);
    QueueStats s;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      int64_t state = st.Int(0), dead = st.Int(1), n = st.Int(2), tokens = st.Int(3);
      if (dead != 0) {
        s.dead += n;
      } else if (state == store::kQueueReady) {
        s.ready += n;
        s.backlog_tokens += tokens;
      } else if (state == store::kQueueLeased) {
        s.leased += n;
        s.backlog_tokens += tokens;
      }
    }
    if (dlq) return QueueStats{.ready = s.dead, .dead = s.dead};
    return s;
  });
}

Status SqliteBroker::ReleaseAllLeases() {
  return db_->Write([&](WriteTx& tx) -> Status {
    RETURN_IF_ERROR(tx.conn().Exec(
        "UPDATE queue_messages SET state = 0, lease_until = NULL WHERE state = 1"));
    if (tx.conn().Changes() > 0) tx.AfterCommit([this] { db_->queue_signals().NotifyAll(); });
    return Status::Ok();
  });
}

void SqliteBroker::Shutdown() {
  shutdown_.store(true);
  db_->queue_signals().NotifyAll();
}

}  // namespace inferline::queue
