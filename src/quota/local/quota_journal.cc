#include "quota/local/quota_journal.h"

#include "common/log.h"

namespace inferline::quota {
namespace {

using store::Statement;

constexpr int64_t kDayKind = 0;
constexpr int64_t kMonthKind = 1;

Status Upsert(store::Connection& c, const std::string& user, int64_t kind, int64_t period,
              const Amount& a) {
  ASSIGN_OR_RETURN(Statement st, c.Prepare(
      "INSERT INTO quota_counters(user_id, kind, period, tokens, requests) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(user_id, kind, period) DO UPDATE SET "
      "tokens = tokens + excluded.tokens, requests = requests + excluded.requests"));
  return st.Bind(1, user).Bind(2, kind).Bind(3, period).Bind(4, a.tokens).Bind(5, a.requests)
      .Run();
}

Status Write(store::Connection& c, const JournalRow& r) {
  if (r.kind == JournalRow::Kind::kReserve) {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "INSERT INTO quota_reservations(request_id, user_id, tokens, requests, day, month, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    return st.Bind(1, r.request_id).Bind(2, r.user_id).Bind(3, r.amount.tokens)
        .Bind(4, r.amount.requests).Bind(5, r.day).Bind(6, r.month).Bind(7, r.created_ms).Run();
  }
  ASSIGN_OR_RETURN(Statement del, c.Prepare(
      "DELETE FROM quota_reservations WHERE request_id = ?1"));
  RETURN_IF_ERROR(del.Bind(1, r.request_id).Run());
  RETURN_IF_ERROR(Upsert(c, r.user_id, kDayKind, r.day, r.amount));
  return Upsert(c, r.user_id, kMonthKind, r.month, r.amount);
}

}  // namespace

std::optional<std::future<Status>> QuotaJournal::Add(JournalRow row, bool wait) {
  Pending p{std::move(row), nullptr};
  std::optional<std::future<Status>> future;
  if (wait) {
    p.done = std::make_shared<std::promise<Status>>();
    future = p.done->get_future();
  }
  bool queue_flush = false;
  {
    std::lock_guard lock(mu_);
    rows_.push_back(std::move(p));
    queue_flush = !queued_;
    queued_ = true;
  }
  std::shared_ptr<store::SqliteDatabase> db = db_.lock();
  if (queue_flush && !db) {
    std::vector<Pending> orphaned;
    Take(orphaned);
    for (Pending& o : orphaned) {
      if (o.done) o.done->set_value(Unavailable("the database is closed"));
    }
  } else if (queue_flush) {
    // Queued after the row is buffered and before Add returns: it runs before any write the
    // caller submits next, and drains this row (or a later flush does, which is queued earlier
    // than such a write too).
    auto batch = std::make_shared<Batch>();
    std::shared_ptr<QuotaJournal> self = shared_from_this();
    db->WriteAsync(
        [self, batch](store::WriteTx& tx) {
          // Run again after another write of the transaction failed: the rows taken the first
          // time are written again (rows buffered since then wait for the next flush).
          if (!batch->ran) self->Take(batch->rows);
          batch->ran = true;
          return self->Flush(tx, batch->rows);
        },
        [self, batch](const Status& st) {
          if (!batch->ran) self->Take(batch->rows);  // the database is closed
          if (!st.ok()) {
            log::Error("quota: recording {} reservation changes failed: {}", batch->rows.size(),
                       st.ToString());
          }
          for (Pending& p : batch->rows) {
            if (p.done) p.done->set_value(st);
          }
        },
        // Nobody waits for the row itself (unless `wait`): it rides along with the caller's
        // next write (the request record) instead of taking a transaction ahead of it.
        wait ? store::SqliteDatabase::Urgency::kNow : store::SqliteDatabase::Urgency::kSoon);
  } else if (wait && db) {
    db->Nudge();  // the flush already queued may be a deferred one
  }
  return future;
}

void QuotaJournal::Take(std::vector<Pending>& out) {
  std::lock_guard lock(mu_);
  out.swap(rows_);
  queued_ = false;
}

Status QuotaJournal::Flush(store::WriteTx& tx, const std::vector<Pending>& drained) {
  for (const Pending& p : drained) RETURN_IF_ERROR(Write(tx.conn(), p.row));
  return Status::Ok();
}

}  // namespace inferline::quota
