// SqliteStore: request records and the usage ledger.
#include <fmt/format.h>

#include "store/sqlite/queue_table.h"
#include "store/sqlite/sqlite_store.h"

namespace inferline::store {
namespace {

constexpr std::string_view kRequestColumns =
    "id, user_id, key_id, model, kind, input_json, params_json, stream, prompt_tokens, "
    "reserved_tokens, status, output_text, finish_reason, usage_prompt_tokens, "
    "usage_completion_tokens, usage_total_tokens, error_code, error_message, created_at, "
    "started_at, finished_at, deadline, attempts, worker_id";

std::optional<Time> OptTime(const Statement& st, int col) {
  if (auto v = st.OptInt(col)) return FromMillis(*v);
  return std::nullopt;
}

Result<RequestRecord> ReadRequest(const Statement& st) {
  RequestRecord r;
  r.id = st.Text(0);
  r.user_id = st.Text(1);
  r.key_id = st.Text(2);
  r.model = st.Text(3);
  ASSIGN_OR_RETURN(r.kind, ParseRequestKind(st.Text(4)));
  r.input_json = st.Text(5);
  r.params_json = st.Text(6);
  r.stream = st.Int(7) != 0;
  r.prompt_tokens = st.Int(8);
  r.reserved_tokens = st.Int(9);
  ASSIGN_OR_RETURN(r.status, ParseRequestStatus(st.Text(10)));
  r.output_text = st.Text(11);
  r.finish_reason = st.Text(12);
  if (!st.IsNull(15)) r.usage = TokenUsage{st.Int(13), st.Int(14)};
  r.error_code = st.Text(16);
  r.error_message = st.Text(17);
  r.created_at = FromMillis(st.Int(18));
  r.started_at = OptTime(st, 19);
  r.finished_at = OptTime(st, 20);
  r.deadline = OptTime(st, 21);
  r.attempts = static_cast<int>(st.Int(22));
  r.worker_id = st.Text(23);
  return r;
}

Status ValidateRecord(const RequestRecord& r) {
  if (r.id.empty()) return InvalidArgument("request id must not be empty", "id");
  if (r.user_id.empty()) return InvalidArgument("request needs a user", "user_id");
  if (r.model.empty()) return InvalidArgument("request needs a model", "model");
  if (r.status != RequestStatus::kQueued) {
    return InvalidArgument("a new request must be queued", "status");
  }
  if (r.prompt_tokens < 0 || r.reserved_tokens < 0) {
    return InvalidArgument("token counts must be >= 0", "prompt_tokens");
  }
  return Status::Ok();
}

// Whether request `id` exists (inside a write operation).
Result<std::optional<RequestStatus>> StatusOf(Connection& c, std::string_view id) {
  ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT status FROM requests WHERE id = ?1"));
  ASSIGN_OR_RETURN(bool row, q.Bind(1, id).Step());
  if (!row) return std::optional<RequestStatus>();
  ASSIGN_OR_RETURN(RequestStatus s, ParseRequestStatus(q.Text(0)));
  return std::optional<RequestStatus>(s);
}

Status InsertRecord(Connection& c, const RequestRecord& r) {
  ASSIGN_OR_RETURN(Statement s, c.Prepare(
      "INSERT INTO requests(id, user_id, key_id, model, kind, input_json, params_json, stream, "
      "prompt_tokens, reserved_tokens, status, created_at, deadline, attempts) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued', ?11, ?12, 0)"));
  std::optional<int64_t> deadline;
  if (r.deadline) deadline = ToMillis(*r.deadline);
  // Every text lives in `r` until Run returns: bound without copies.
  return s.BindView(1, r.id).BindView(2, r.user_id).BindView(3, r.key_id).BindView(4, r.model)
      .BindView(5, RequestKindName(r.kind)).BindView(6, r.input_json)
      .BindView(7, r.params_json).Bind(8, int64_t{r.stream}).Bind(9, r.prompt_tokens).Bind(10, r.reserved_tokens)
      .Bind(11, ToMillis(r.created_at)).Bind(12, deadline).Run();
}

Status InsertRequest(WriteTx& tx, QueueSignals& queue_signals, const RequestRecord& record,
                     const std::optional<OutboxMessage>& outbox) {
  RETURN_IF_ERROR(InsertRecord(tx.conn(), record));
  if (!outbox) return Status::Ok();
  if (outbox->direct) {
    // Taken by a consumer in this process already: leased from this commit on.
    const int64_t now = ToMillis(Clock::now());
    ASSIGN_OR_RETURN(uint64_t tag,
                     InsertLeasedQueueMessage(tx, outbox->queue, outbox->payload, outbox->meta,
                                              now + outbox->direct->lease_for.count(),
                                              ToMillis(record.created_at)));
    outbox->direct->tag.store(tag);
    return Status::Ok();
  }
  // visible_at 0: visible at once, whatever clock the broker runs on. The record's primary key
  // makes the message id unique: no deduplication index needed.
  return InsertQueueMessage(tx, queue_signals, outbox->queue, outbox->payload, outbox->meta, 0,
                            ToMillis(record.created_at), MessageId::kUniqueRecord);
}

Status NameTakenId(Status st, const std::string& id) {
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("request '{}' already exists", id));
  }
  return st;
}

}  // namespace

Status SqliteStore::CreateRequest(const RequestRecord& record,
                                  const std::optional<OutboxMessage>& outbox) {
  RETURN_IF_ERROR(ValidateRecord(record));
  Status st = db_->Write([&](WriteTx& tx) -> Status {
    return InsertRequest(tx, db_->queue_signals(), record, outbox);
  });
  return NameTakenId(std::move(st), record.id);
}

void SqliteStore::CreateRequestAsync(RequestRecord record, std::optional<OutboxMessage> outbox,
                                     std::function<void(Status)> done) {
  if (Status st = ValidateRecord(record); !st.ok()) {
    done(std::move(st));
    return;
  }
  struct Op {
    RequestRecord record;
    std::optional<OutboxMessage> outbox;
  };
  auto op = std::make_shared<Op>(Op{std::move(record), std::move(outbox)});
  QueueSignals& signals = db_->queue_signals();
  db_->WriteAsync(
      [op, &signals](WriteTx& tx) -> Status {
        return InsertRequest(tx, signals, op->record, op->outbox);
      },
      [op, done = std::move(done)](const Status& st) { done(NameTakenId(st, op->record.id)); });
}

Result<RequestRecord> SqliteStore::GetRequest(std::string_view id) {
  std::string sql = fmt::format("SELECT {} FROM requests WHERE id = ?1", kRequestColumns);
  return db_->Read([&](Connection& c) -> Result<RequestRecord> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    ASSIGN_OR_RETURN(bool row, st.Bind(1, id).Step());
    if (!row) return NotFound(fmt::format("no request '{}'", id));
    return ReadRequest(st);
  });
}

Result<Page<RequestRecord>> SqliteStore::ListRequestsByUser(std::string_view user_id,
                                                            const PageRequest& page) {
  RETURN_IF_ERROR(ValidatePage(page));
  RequestCursor after;
  if (!page.cursor.empty()) {
    ASSIGN_OR_RETURN(after, ParseRequestCursor(page.cursor));
  }
  std::string sql = fmt::format(
      "SELECT {} FROM requests WHERE user_id = ?1 {} ORDER BY created_at DESC, id DESC LIMIT ?2",
      kRequestColumns,
      page.cursor.empty() ? "" : "AND (created_at < ?3 OR (created_at = ?3 AND id < ?4))");
  return db_->Read([&](Connection& c) -> Result<Page<RequestRecord>> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    st.Bind(1, user_id).Bind(2, int64_t{page.limit} + 1);
    if (!page.cursor.empty()) st.Bind(3, after.created_ms).Bind(4, after.id);
    Page<RequestRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(RequestRecord r, ReadRequest(st));
      out.items.push_back(std::move(r));
    }
    if (out.items.size() > static_cast<size_t>(page.limit)) {
      out.items.pop_back();
      const RequestRecord& last = out.items.back();
      out.next_cursor = RequestCursorAfter(last);
    }
    return out;
  });
}

Result<std::vector<std::string>> SqliteStore::ListOpenRequestIds(RequestStatus status,
                                                                 std::string_view after_id,
                                                                 int limit) {
  if (IsTerminal(status)) return InvalidArgument("status must be queued or running", "status");
  if (limit < 1 || limit > 100000) return InvalidArgument("limit must be 1..100000", "limit");
  return db_->Read([&](Connection& c) -> Result<std::vector<std::string>> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT id FROM requests WHERE status = ?1 AND id > ?2 AND status IN ('queued', "
        "'running') ORDER BY id LIMIT ?3"));
    st.Bind(1, RequestStatusName(status)).Bind(2, after_id).Bind(3, int64_t{limit});
    std::vector<std::string> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(st.Text(0));
    }
  });
}

Result<bool> SqliteStore::MarkRunning(std::string_view id, std::string_view worker_id, Time now) {
  std::optional<RequestStatus> found;
  bool changed = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "UPDATE requests SET status = 'running', started_at = ?2, attempts = attempts + 1, "
        "worker_id = ?3 WHERE id = ?1 AND status IN ('queued', 'running')"));
    RETURN_IF_ERROR(s.Bind(1, id).Bind(2, ToMillis(now)).Bind(3, worker_id).Run());
    changed = tx.conn().Changes() > 0;
    if (!changed) {
      ASSIGN_OR_RETURN(found, StatusOf(tx.conn(), id));
    }
    return Status::Ok();
  }));
  if (!changed && !found) return NotFound(fmt::format("no request '{}'", id));
  return changed;
}

Result<bool> SqliteStore::FinalizeRequest(std::string_view id, const RequestOutcome& outcome) {
  if (!IsTerminal(outcome.status)) {
    return InvalidArgument("a final status must be terminal", "status");
  }
  if (outcome.usage &&
      (outcome.usage->prompt_tokens < 0 || outcome.usage->completion_tokens < 0)) {
    return InvalidArgument("usage token counts must be >= 0", "usage");
  }
  std::optional<int64_t> up, uc, ut;
  if (outcome.usage) {
    up = outcome.usage->prompt_tokens;
    uc = outcome.usage->completion_tokens;
    ut = outcome.usage->total();
  }
  int64_t finished = ToMillis(outcome.finished_at);
  std::optional<RequestStatus> found;
  bool changed = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    Connection& c = tx.conn();
    ASSIGN_OR_RETURN(Statement s, c.Prepare(
        "UPDATE requests SET status = ?2, output_text = ?3, finish_reason = ?4, "
        "usage_prompt_tokens = ?5, usage_completion_tokens = ?6, usage_total_tokens = ?7, "
        "error_code = ?8, error_message = ?9, finished_at = ?10, "
        "worker_id = COALESCE(NULLIF(?11, ''), worker_id) "
        "WHERE id = ?1 AND status IN ('queued', 'running')"));
    RETURN_IF_ERROR(s.Bind(1, id).Bind(2, RequestStatusName(outcome.status))
        .Bind(3, outcome.output_text).Bind(4, outcome.finish_reason).Bind(5, up).Bind(6, uc)
        .Bind(7, ut).Bind(8, outcome.error_code).Bind(9, outcome.error_message)
        .Bind(10, finished).Bind(11, outcome.worker_id).Run());
    changed = c.Changes() > 0;
    if (!changed) {
      ASSIGN_OR_RETURN(found, StatusOf(c, id));
      if (!found) return Status::Ok();
      if (outcome.usage) {
        // Cancelled while running: keep the status, but remember what the worker spent.
        ASSIGN_OR_RETURN(Statement f, c.Prepare(
            "UPDATE requests SET usage_prompt_tokens = ?2, usage_completion_tokens = ?3, "
            "usage_total_tokens = ?4 WHERE id = ?1 AND usage_total_tokens IS NULL"));
        RETURN_IF_ERROR(f.Bind(1, id).Bind(2, up).Bind(3, uc).Bind(4, ut).Run());
      }
    }
    if (!ut || *ut == 0) return Status::Ok();
    ASSIGN_OR_RETURN(Statement u, c.Prepare(
        "INSERT OR IGNORE INTO usage_ledger(request_id, user_id, model, prompt_tokens, "
        "completion_tokens, created_at) SELECT id, user_id, model, ?2, ?3, ?4 FROM requests "
        "WHERE id = ?1"));
    return u.Bind(1, id).Bind(2, *up).Bind(3, *uc).Bind(4, finished).Run();
  }));
  if (!changed && !found) return NotFound(fmt::format("no request '{}'", id));
  return changed;
}

Result<CancelResult> SqliteStore::CancelRequest(std::string_view id, Time now) {
  std::optional<RequestStatus> found;
  CancelResult result;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(found, StatusOf(tx.conn(), id));
    if (!found || IsTerminal(*found)) return Status::Ok();
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "UPDATE requests SET status = 'cancelled', finished_at = ?2 WHERE id = ?1"));
    RETURN_IF_ERROR(s.Bind(1, id).Bind(2, ToMillis(now)).Run());
    result.cancelled = true;
    return Status::Ok();
  }));
  if (!found) return NotFound(fmt::format("no request '{}'", id));
  result.previous = *found;
  return result;
}

Result<std::vector<UsageAggregate>> SqliteStore::AggregateUsage(const UsageQuery& query) {
  if (query.to < query.from) return InvalidArgument("'to' is before 'from'", "to");
  std::string sql = fmt::format(
      "SELECT user_id, model, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) "
      "FROM usage_ledger WHERE created_at >= ?1 AND created_at < ?2 {} "
      "GROUP BY user_id, model ORDER BY user_id, model",
      query.user_id.empty() ? "" : "AND user_id = ?3");
  return db_->Read([&](Connection& c) -> Result<std::vector<UsageAggregate>> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    st.Bind(1, ToMillis(query.from)).Bind(2, ToMillis(query.to));
    if (!query.user_id.empty()) st.Bind(3, query.user_id);
    std::vector<UsageAggregate> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(UsageAggregate{st.Text(0), st.Text(1), st.Int(2), st.Int(3), st.Int(4)});
    }
  });
}

}  // namespace inferline::store
