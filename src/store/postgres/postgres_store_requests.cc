// PostgresStore: request records and the usage ledger. Every write is one statement run through
// group commit (see pg_group_commit.h), so each must be complete and idempotent on its own.
#include <fmt/format.h>

#include "store/postgres/postgres_store.h"

namespace inferline::store {
namespace {

#define REQUEST_COLUMNS                                                                         \
  "id, user_id, key_id, model, kind, input_json, params_json, stream, prompt_tokens, "          \
  "reserved_tokens, status, output_text, finish_reason, usage_prompt_tokens, "                  \
  "usage_completion_tokens, usage_total_tokens, error_code, error_message, created_at, "        \
  "started_at, finished_at, deadline, attempts, worker_id"
#define INSERT_REQUEST                                                                          \
  "INSERT INTO requests(id, user_id, key_id, model, kind, input_json, params_json, stream, "    \
  "prompt_tokens, reserved_tokens, status, created_at, deadline, attempts) "                    \
  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12, 0) "                    \
  "ON CONFLICT (id) DO NOTHING RETURNING id"
#define OPEN "('queued', 'running')"

const PgStatement kInsert{"requests_insert", INSERT_REQUEST};
// The record and its outbox row in one statement: no record row, no outbox row.
const PgStatement kInsertWithOutbox{
    "requests_insert_outbox",
    "WITH r AS (" INSERT_REQUEST ") "
    "INSERT INTO outbox(queue, payload, message_id, model, tokens, priority, created_at) "
    "SELECT $13::text, $14::text, $15::text, $16::text, $17::bigint, $18::integer, $11::bigint "
    "FROM r RETURNING id"};
// kInsertWithOutbox for many requests at once (PgWrite::merged): parameter i is the array of
// every request's parameter i. The outbox ids are drawn in the requests' order, so that the
// relay publishes them in that order; returns (ordinal, outbox id) per request inserted.
const PgStatement kInsertWithOutboxMany{
    "requests_insert_outbox_many",
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
    "    $5::text[], $6::text[], $7::text[], $8::boolean[], $9::bigint[], $10::bigint[], "
    "    $11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::text[], $16::text[], "
    "    $17::bigint[], $18::integer[]) WITH ORDINALITY AS v(id, user_id, key_id, model, kind, "
    "    input_json, params_json, stream, prompt_tokens, reserved_tokens, created_at, deadline, "
    "    queue, payload, message_id, message_model, tokens, priority, ord)), "
    "r AS (INSERT INTO requests(id, user_id, key_id, model, kind, input_json, params_json, "
    "    stream, prompt_tokens, reserved_tokens, status, created_at, deadline, attempts) "
    "  SELECT id, user_id, key_id, model, kind, input_json, params_json, stream, prompt_tokens, "
    "    reserved_tokens, 'queued', created_at, deadline, 0 FROM v ORDER BY ord "
    "  ON CONFLICT (id) DO NOTHING RETURNING id), "
    "k AS (SELECT v.ord, nextval('outbox_id_seq') AS outbox_id, v.queue, v.payload, "
    "    v.message_id, v.message_model, v.tokens, v.priority, v.created_at "
    "  FROM v JOIN r ON r.id = v.id COLLATE \"C\" ORDER BY v.ord), "
    "o AS (INSERT INTO outbox(id, queue, payload, message_id, model, tokens, priority, "
    "    created_at) SELECT outbox_id, queue, payload, message_id, message_model, tokens, "
    "    priority, created_at FROM k) "
    "SELECT ord, outbox_id FROM k"};
const PgStatement kGet{"requests_get", "SELECT " REQUEST_COLUMNS " FROM requests WHERE id = $1"};
const PgStatement kByUserFirst{
    "requests_by_user_first",
    "SELECT " REQUEST_COLUMNS " FROM requests WHERE user_id = $1 "
    "ORDER BY created_at DESC, id DESC LIMIT $2"};
const PgStatement kByUserAfter{
    "requests_by_user_after",
    "SELECT " REQUEST_COLUMNS " FROM requests WHERE user_id = $1 "
    "AND (created_at, id) < ($3::bigint, $4::text) ORDER BY created_at DESC, id DESC LIMIT $2"};
const PgStatement kOpenIds{"requests_open_ids",
                           "SELECT id FROM requests WHERE status = $1 AND id > $2 "
                           "AND status IN " OPEN " ORDER BY id LIMIT $3"};
// Each of the next three returns (rows found, rows changed). The row lock in `prev` makes a
// concurrent writer of the same request wait and then see the committed status.
const PgStatement kMarkRunning{
    "requests_mark_running",
    "WITH prev AS (SELECT id, status FROM requests WHERE id = $1 FOR UPDATE), "
    "upd AS (UPDATE requests r SET status = 'running', started_at = $2, "
    "        attempts = r.attempts + 1, worker_id = $3 "
    "        FROM prev WHERE r.id = prev.id AND prev.status IN " OPEN " RETURNING r.id) "
    "SELECT (SELECT count(*) FROM prev), (SELECT count(*) FROM upd)"};
// $1 id, $2 status, $3 output, $4 finish reason, $5..$7 usage (prompt, completion, total; NULL
// when unknown), $8 error code, $9 error message, $10 finished at, $11 worker.
const PgStatement kFinalize{
    "requests_finalize",
    "WITH prev AS (SELECT id, status, usage_total_tokens, user_id, model FROM requests "
    "              WHERE id = $1 FOR UPDATE), "
    "done AS (UPDATE requests r SET status = $2, output_text = $3, finish_reason = $4, "
    "         usage_prompt_tokens = $5::bigint, usage_completion_tokens = $6::bigint, "
    "         usage_total_tokens = $7::bigint, error_code = $8, error_message = $9, "
    "         finished_at = $10::bigint, worker_id = COALESCE(NULLIF($11::text, ''), r.worker_id) "
    "         FROM prev WHERE r.id = prev.id AND prev.status IN " OPEN " RETURNING r.id), "
    // Cancelled while running: the status stays, but what the worker spent is kept.
    "late AS (UPDATE requests r SET usage_prompt_tokens = $5::bigint, "
    "         usage_completion_tokens = $6::bigint, usage_total_tokens = $7::bigint "
    "         FROM prev WHERE r.id = prev.id AND prev.status NOT IN " OPEN
    "         AND prev.usage_total_tokens IS NULL AND $7::bigint IS NOT NULL RETURNING r.id), "
    "ledger AS (INSERT INTO usage_ledger(request_id, user_id, model, prompt_tokens, "
    "           completion_tokens, created_at) "
    "           SELECT id, user_id, model, $5::bigint, $6::bigint, $10::bigint FROM prev "
    "           WHERE COALESCE($7::bigint, 0) <> 0 "
    "           ON CONFLICT (request_id) DO NOTHING RETURNING request_id) "
    "SELECT (SELECT count(*) FROM prev), (SELECT count(*) FROM done)"};
// Returns the status found and whether this call cancelled; no row when the request is absent.
const PgStatement kCancel{
    "requests_cancel",
    "WITH prev AS (SELECT id, status FROM requests WHERE id = $1 FOR UPDATE), "
    "upd AS (UPDATE requests r SET status = 'cancelled', finished_at = $2 "
    "        FROM prev WHERE r.id = prev.id AND prev.status IN " OPEN " RETURNING r.id) "
    "SELECT prev.status, (SELECT count(*) FROM upd) FROM prev"};
const PgStatement kUsageAll{
    "usage_all",
    "SELECT user_id, model, count(*), sum(prompt_tokens), sum(completion_tokens) "
    "FROM usage_ledger WHERE created_at >= $1 AND created_at < $2 "
    "GROUP BY user_id, model ORDER BY user_id, model"};
// The open-request index (requests_open) bounds the scan to queued and running rows.
const PgStatement kOpenReserved{
    "open_reserved_tokens",
    "SELECT COALESCE(sum(reserved_tokens), 0) FROM requests "
    "WHERE status IN ('queued', 'running') AND model = $1"};
const PgStatement kUsageOfUser{
    "usage_of_user",
    "SELECT user_id, model, count(*), sum(prompt_tokens), sum(completion_tokens) "
    "FROM usage_ledger WHERE created_at >= $1 AND created_at < $2 AND user_id = $3 "
    "GROUP BY user_id, model ORDER BY user_id, model"};

#undef REQUEST_COLUMNS
#undef INSERT_REQUEST
#undef OPEN

std::optional<Time> OptTime(const PgResult& r, int row, int col) {
  if (auto v = r.OptInt(row, col)) return FromMillis(*v);
  return std::nullopt;
}

Result<RequestRecord> ReadRequest(const PgResult& res, int i) {
  RequestRecord r;
  r.id = res.String(i, 0);
  r.user_id = res.String(i, 1);
  r.key_id = res.String(i, 2);
  r.model = res.String(i, 3);
  ASSIGN_OR_RETURN(r.kind, ParseRequestKind(res.Text(i, 4)));
  r.input_json = res.String(i, 5);
  r.params_json = res.String(i, 6);
  r.stream = res.Bool(i, 7);
  r.prompt_tokens = res.Int(i, 8);
  r.reserved_tokens = res.Int(i, 9);
  ASSIGN_OR_RETURN(r.status, ParseRequestStatus(res.Text(i, 10)));
  r.output_text = res.String(i, 11);
  r.finish_reason = res.String(i, 12);
  if (!res.IsNull(i, 15)) r.usage = TokenUsage{res.Int(i, 13), res.Int(i, 14)};
  r.error_code = res.String(i, 16);
  r.error_message = res.String(i, 17);
  r.created_at = FromMillis(res.Int(i, 18));
  r.started_at = OptTime(res, i, 19);
  r.finished_at = OptTime(res, i, 20);
  r.deadline = OptTime(res, i, 21);
  r.attempts = static_cast<int>(res.Int(i, 22));
  r.worker_id = res.String(i, 23);
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

// The two counts that kMarkRunning / kFinalize return.
struct FoundChanged {
  bool found = false;
  bool changed = false;
};
std::function<Status(const PgResult&)> ReadFoundChanged(FoundChanged* out) {
  return [out](const PgResult& r) {
    *out = FoundChanged{r.Int(0, 0) > 0, r.Int(0, 1) > 0};
    return Status::Ok();
  };
}

}  // namespace

Result<PgWrite> PostgresStore::CreateWrite(const RequestRecord& record,
                                           const std::optional<OutboxMessage>& outbox,
                                           std::shared_ptr<int64_t> outbox_id) {
  RETURN_IF_ERROR(ValidateRecord(record));
  if (outbox && outbox->direct) {
    return InvalidArgument("a message relayed to the broker cannot be leased in the store",
                           "direct");
  }
  std::optional<int64_t> deadline;
  if (record.deadline) deadline = ToMillis(*record.deadline);
  PgParams params = MakePgParams(
      record.id, record.user_id, record.key_id, record.model, RequestKindName(record.kind),
      record.input_json, record.params_json, record.stream, record.prompt_tokens,
      record.reserved_tokens, ToMillis(record.created_at), deadline);
  if (outbox) {
    RETURN_IF_ERROR(queue::ValidateQueueName(outbox->queue));
    for (auto& p : MakePgParams(outbox->queue, outbox->payload, outbox->meta.message_id,
                                outbox->meta.model, outbox->meta.tokens,
                                outbox->meta.priority)) {
      params.push_back(std::move(p));
    }
  }
  PgWrite write{outbox ? &kInsertWithOutbox : &kInsert, std::move(params),
                [id = record.id, outbox_id](const PgResult& r) -> Status {
                  if (r.rows() == 0) {
                    return AlreadyExists(fmt::format("request '{}' already exists", id));
                  }
                  if (outbox_id) *outbox_id = r.Int(0, 0);
                  return Status::Ok();
                }};
  if (outbox) {
    write.merged = &kInsertWithOutboxMany;
    write.merge_key = record.id;
    write.on_merged = [id = record.id, outbox_id](const PgResult& r, int row) -> Status {
      if (row < 0) return AlreadyExists(fmt::format("request '{}' already exists", id));
      if (outbox_id) *outbox_id = r.Int(row, 1);
      return Status::Ok();
    };
  }
  return write;
}

Status PostgresStore::CreateRequest(const RequestRecord& record,
                                    const std::optional<OutboxMessage>& outbox) {
  auto outbox_id = outbox && outbox_committed_ ? std::make_shared<int64_t>(0) : nullptr;
  ASSIGN_OR_RETURN(PgWrite write, CreateWrite(record, outbox, outbox_id));
  Status st = writes_.Write(std::move(write));
  if (st.ok() && outbox_id) {
    outbox_committed_(CommittedOutbox{*outbox_id, ToMillis(record.created_at), *outbox});
  }
  return st;
}

void PostgresStore::CreateRequestAsync(RequestRecord record, std::optional<OutboxMessage> outbox,
                                       std::function<void(Status)> done) {
  auto outbox_id = outbox && outbox_committed_ ? std::make_shared<int64_t>(0) : nullptr;
  Result<PgWrite> write = CreateWrite(record, outbox, outbox_id);
  if (!write.ok()) {
    done(write.status());
    return;
  }
  if (!outbox_id) outbox.reset();  // nobody to hand it to
  writes_.WriteAsync(std::move(*write),
                     [this, outbox_id, created_at = ToMillis(record.created_at),
                      outbox = std::move(outbox), done = std::move(done)](const Status& st) mutable {
                       if (st.ok() && outbox_id) {
                         outbox_committed_(
                             CommittedOutbox{*outbox_id, created_at, std::move(*outbox)});
                       }
                       done(st);
                     });
}

Result<RequestRecord> PostgresStore::GetRequest(std::string_view id) {
  return pool_.With([&](PgConnection& c) -> Result<RequestRecord> {
    ASSIGN_OR_RETURN(PgResult r, c.Run(kGet, MakePgParams(id)));
    if (r.rows() == 0) return NotFound(fmt::format("no request '{}'", id));
    return ReadRequest(r, 0);
  });
}

Result<Page<RequestRecord>> PostgresStore::ListRequestsByUser(std::string_view user_id,
                                                              const PageRequest& page) {
  if (page.limit < 1 || page.limit > 1000) return InvalidArgument("limit must be 1..1000", "limit");
  RequestCursor after;
  if (!page.cursor.empty()) {
    ASSIGN_OR_RETURN(after, ParseRequestCursor(page.cursor));
  }
  int64_t limit = int64_t{page.limit} + 1;
  return pool_.With([&](PgConnection& c) -> Result<Page<RequestRecord>> {
    ASSIGN_OR_RETURN(PgResult r,
                     page.cursor.empty()
                         ? c.Run(kByUserFirst, MakePgParams(user_id, limit))
                         : c.Run(kByUserAfter, MakePgParams(user_id, limit, after.created_ms,
                                                            after.id)));
    Page<RequestRecord> out;
    for (int i = 0; i < r.rows(); ++i) {
      ASSIGN_OR_RETURN(RequestRecord rec, ReadRequest(r, i));
      out.items.push_back(std::move(rec));
    }
    if (out.items.size() > static_cast<size_t>(page.limit)) {
      out.items.pop_back();
      const RequestRecord& last = out.items.back();
      out.next_cursor = RequestCursorAfter(last);
    }
    return out;
  });
}

Result<std::vector<std::string>> PostgresStore::ListOpenRequestIds(RequestStatus status,
                                                                   std::string_view after_id,
                                                                   int limit) {
  if (IsTerminal(status)) return InvalidArgument("status must be queued or running", "status");
  if (limit < 1 || limit > 100000) return InvalidArgument("limit must be 1..100000", "limit");
  return pool_.With([&](PgConnection& c) -> Result<std::vector<std::string>> {
    ASSIGN_OR_RETURN(PgResult r, c.Run(kOpenIds, MakePgParams(RequestStatusName(status),
                                                              after_id, int64_t{limit})));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.String(i, 0));
    return out;
  });
}

Result<bool> PostgresStore::MarkRunning(std::string_view id, std::string_view worker_id,
                                        Time now) {
  FoundChanged fc;
  RETURN_IF_ERROR(writes_.Write(PgWrite{
      &kMarkRunning, MakePgParams(id, ToMillis(now), worker_id), ReadFoundChanged(&fc)}));
  if (!fc.found) return NotFound(fmt::format("no request '{}'", id));
  return fc.changed;
}

Result<bool> PostgresStore::FinalizeRequest(std::string_view id, const RequestOutcome& outcome) {
  if (!IsTerminal(outcome.status)) {
    return InvalidArgument("a final status must be terminal", "status");
  }
  std::optional<int64_t> up, uc, ut;
  if (outcome.usage) {
    if (outcome.usage->prompt_tokens < 0 || outcome.usage->completion_tokens < 0) {
      return InvalidArgument("usage token counts must be >= 0", "usage");
    }
    up = outcome.usage->prompt_tokens;
    uc = outcome.usage->completion_tokens;
    ut = outcome.usage->total();
  }
  FoundChanged fc;
  RETURN_IF_ERROR(writes_.Write(PgWrite{
      &kFinalize,
      MakePgParams(id, RequestStatusName(outcome.status), outcome.output_text,
                   outcome.finish_reason, up, uc, ut, outcome.error_code, outcome.error_message,
                   ToMillis(outcome.finished_at), outcome.worker_id),
      ReadFoundChanged(&fc)}));
  if (!fc.found) return NotFound(fmt::format("no request '{}'", id));
  return fc.changed;
}

Result<CancelResult> PostgresStore::CancelRequest(std::string_view id, Time now) {
  std::optional<CancelResult> result;
  RETURN_IF_ERROR(writes_.Write(PgWrite{
      &kCancel, MakePgParams(id, ToMillis(now)), [&](const PgResult& r) -> Status {
        result.reset();
        if (r.rows() == 0) return Status::Ok();
        ASSIGN_OR_RETURN(RequestStatus previous, ParseRequestStatus(r.Text(0, 0)));
        result = CancelResult{r.Int(0, 1) > 0, previous};
        return Status::Ok();
      }}));
  if (!result) return NotFound(fmt::format("no request '{}'", id));
  return *result;
}

Result<std::vector<UsageAggregate>> PostgresStore::AggregateUsage(const UsageQuery& query) {
  if (query.to < query.from) return InvalidArgument("'to' is before 'from'", "to");
  int64_t from = ToMillis(query.from), to = ToMillis(query.to);
  return pool_.With([&](PgConnection& c) -> Result<std::vector<UsageAggregate>> {
    ASSIGN_OR_RETURN(PgResult r, query.user_id.empty()
                                     ? c.Run(kUsageAll, MakePgParams(from, to))
                                     : c.Run(kUsageOfUser, MakePgParams(from, to, query.user_id)));
    std::vector<UsageAggregate> out;
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back(UsageAggregate{r.String(i, 0), r.String(i, 1), r.Int(i, 2), r.Int(i, 3),
                                   r.Int(i, 4)});
    }
    return out;
  });
}

Result<int64_t> PostgresStore::OpenReservedTokens(std::string_view model) {
  return pool_.With([&](PgConnection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(PgResult r, c.Run(kOpenReserved, MakePgParams(std::string(model))));
    return r.rows() > 0 ? r.Int(0, 0) : 0;
  });
}

Status PostgresStore::Ping() {
  return pool_.With([](PgConnection& c) -> Status { return c.Exec("SELECT 1").status(); });
}

}  // namespace inferline::store
