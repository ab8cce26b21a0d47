#include "store/postgres/pg_connection.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>

namespace inferline::store {
namespace {

void IgnoreNotice(void*, const char*) {}  // "relation exists, skipping" and the like

std::string Trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Maps a SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html) to a code.
StatusCode CodeFor(std::string_view sqlstate) {
  if (sqlstate == "23505") return StatusCode::kAlreadyExists;
  if (sqlstate == "57014") return StatusCode::kDeadlineExceeded;  // statement_timeout
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) {
    return StatusCode::kInvalidArgument;  // data exception, integrity violation
  }
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57P") ||
      sqlstate == "40001" || sqlstate == "40P01") {
    return StatusCode::kUnavailable;  // connection, resources, shutdown, retryable conflicts
  }
  return StatusCode::kInternal;
}

}  // namespace

PgResult::PgResult(pg_result* res) : res_(res) {}
void PgResult::Clear::operator()(pg_result* r) const { PQclear(r); }
int PgResult::rows() const { return res_ ? PQntuples(res_.get()) : 0; }
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }

std::string_view PgResult::Text(int row, int col) const {
  if (IsNull(row, col)) return {};
  return std::string_view(PQgetvalue(res_.get(), row, col),
                          static_cast<size_t>(PQgetlength(res_.get(), row, col)));
}

int64_t PgResult::Int(int row, int col) const { return OptInt(row, col).value_or(0); }

std::optional<int64_t> PgResult::OptInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  std::string_view t = Text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

bool PgResult::Bool(int row, int col) const { return Text(row, col) == "t"; }

int64_t PgResult::affected() const {
  const char* n = res_ ? PQcmdTuples(res_.get()) : "";
  int64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

Result<std::string> DescribePostgresServer(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = Trimmed(err);
    PQfreemem(err);
    return InvalidArgument(fmt::format("invalid PostgreSQL URL: {}", msg), "postgres.url");
  }
  std::string host, port, db;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    std::string_view k = o->keyword;
    std::string v = o->val != nullptr ? o->val : "";
    if (k == "host" || (k == "hostaddr" && host.empty())) host = v;
    if (k == "port") port = v;
    if (k == "dbname") db = v;
  }
  PQconninfoFree(opts);
  return fmt::format("{}:{}/{}", host.empty() ? "localhost" : host,
                     port.empty() ? "5432" : port, db);
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const PostgresOptions& options) {
  ASSIGN_OR_RETURN(std::string server, DescribePostgresServer(options.url));
  std::string timeout = std::to_string((options.connect_timeout.count() + 999) / 1000);
  std::string session = fmt::format("-c statement_timeout={}", options.statement_timeout.count());
  // dbname is expanded from the URL first; the later keywords override what it says.
  const char* keys[] = {"dbname", "connect_timeout", "options", "application_name",
                        "client_encoding", nullptr};
  const char* values[] = {options.url.c_str(), timeout.c_str(), session.c_str(),
                          options.application_name.c_str(), "UTF8", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable(fmt::format("cannot connect to PostgreSQL at {}: {}", server, msg));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn, std::move(server)));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::ok() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

Status PgConnection::Lost() {
  broken_ = true;
  return Unavailable(fmt::format("lost the PostgreSQL session with {}: {}", server_,
                                 Trimmed(PQerrorMessage(conn_))));
}

bool PgConnection::CheckAlive() {
  if (!ok()) return false;
  const int fd = PQsocket(conn_);
  if (fd < 0) return false;
  // An idle session has nothing to read; anything there is a notice, a notification, or a
  // server's farewell: an ErrorResponse ("terminating connection due to administrator command")
  // followed by EOF. One PQconsumeInput reads the message but not the EOF behind it (libpq hands
  // an error in the idle state to the notice processor and keeps the session OK), so read until
  // the socket is drained; the EOF then fails the read. Bounded, for a busy LISTEN session.
  for (int i = 0; i < 8; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_) == 0) return false;
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  }
  return ok() && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

Result<PgResult> PgConnection::Check(pg_result* res, std::string_view what) {
  PgResult owned(res);
  ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return owned;
  if (!ok() || res == nullptr) return Lost();
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  std::string sqlstate = state != nullptr ? state : "";
  std::string msg = Trimmed(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
  if (msg.empty()) msg = Trimmed(PQresultErrorMessage(res));
  return Status(CodeFor(sqlstate),
                fmt::format("PostgreSQL {} ({}): {} [{}]", server_, what, msg, sqlstate));
}

Result<PgResult> PgConnection::Exec(std::string_view sql) {
  std::string text(sql);
  return Check(PQexec(conn_, text.c_str()), "query");
}

Status PgConnection::Prepare(const PgStatement& statement) {
  std::string name(statement.name);
  if (prepared_.contains(name)) return Status::Ok();
  std::string sql(statement.sql);
  RETURN_IF_ERROR(Check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr),
                        fmt::format("prepare {}", name))
                      .status());
  prepared_.insert(std::move(name));
  return Status::Ok();
}

Result<PgResult> PgConnection::Run(const PgStatement& statement, const PgParams& params) {
  RETURN_IF_ERROR(Prepare(statement));
  std::string name(statement.name);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return Check(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                              values.data(), nullptr, nullptr, 0),
               statement.name);
}

Result<std::vector<PgResult>> PgConnection::RunInOneTransaction(
    const std::vector<PgCall>& calls) {
  for (const PgCall& c : calls) RETURN_IF_ERROR(Prepare(*c.statement));
  if (PQenterPipelineMode(conn_) != 1) return Lost();
  // Results are read after each chunk (flush request), so neither side's socket buffer can fill
  // up while the other waits; the implicit transaction still spans up to the final Sync.
  constexpr size_t kChunk = 32;
  std::vector<PgResult> out;
  out.reserve(calls.size());
  Status first_error;
  std::vector<const char*> values;
  for (size_t start = 0; start < calls.size(); start += kChunk) {
    size_t end = std::min(calls.size(), start + kChunk);
    for (size_t i = start; i < end; ++i) {
      values.clear();
      for (const auto& p : *calls[i].params) values.push_back(p ? p->c_str() : nullptr);
      std::string name(calls[i].statement->name);
      if (PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                              values.data(), nullptr, nullptr, 0) != 1) {
        return Lost();
      }
    }
    int sent = end < calls.size() ? PQsendFlushRequest(conn_) : PQpipelineSync(conn_);
    if (sent != 1 || PQflush(conn_) != 0) return Lost();
    for (size_t i = start; i < end; ++i) {
      pg_result* res = PQgetResult(conn_);
      if (res == nullptr) return Lost();
      if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
        PQclear(res);  // skipped after an earlier error
      } else {
        Result<PgResult> r = Check(res, calls[i].statement->name);
        if (r.ok()) {
          out.push_back(std::move(*r));
        } else if (first_error.ok()) {
          first_error = r.status();
        }
      }
      if (PQgetResult(conn_) != nullptr) return Lost();  // each command ends with a null
    }
  }
  pg_result* sync = PQgetResult(conn_);
  bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!synced || PQexitPipelineMode(conn_) != 1) return Lost();
  if (!first_error.ok()) return first_error;
  return out;
}

}  // namespace inferline::store
