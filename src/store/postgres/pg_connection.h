// A thin RAII layer over libpq for the PostgreSQL adapters: PgConnection (one server session
// with lazily prepared named statements) and PgResult (one query's rows, read as text). Every
// libpq error becomes a Status: the server unreachable or the session lost -> Unavailable with a
// message naming the server (host:port/db, never the password), a unique violation ->
// AlreadyExists, bad data -> InvalidArgument, statement_timeout -> DeadlineExceeded, serialization
// failures and deadlocks -> Unavailable (retry), anything else -> Internal.
//
// libpq rather than libpqxx: the adapter needs Status values, not exceptions (libpqxx reports
// every error by throwing, and 6.4's API is the old one), and it needs the raw socket to wait for
// LISTEN notifications next to a stop signal (OutboxRelay). The C API is small enough to wrap here.
//
// Thread-safety: a PgConnection belongs to one thread at a time (whoever leased it from PgPool, or
// its writer/relay thread). Distinct connections may be used concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "store/postgres/postgres_options.h"

struct pg_conn;
struct pg_result;

namespace inferline::store {

// A statement prepared once per connection under `name` (unique across the process).
struct PgStatement {
  std::string_view name;
  std::string_view sql;
};

// Text-format parameters; nullopt is SQL NULL.
using PgParams = std::vector<std::optional<std::string>>;

// One statement of a pipelined batch (PgConnection::RunInOneTransaction).
struct PgCall {
  const PgStatement* statement;
  const PgParams* params;
};

inline std::optional<std::string> PgParam(std::string_view v) { return std::string(v); }
inline std::optional<std::string> PgParam(const char* v) { return std::string(v); }
inline std::optional<std::string> PgParam(const std::string& v) { return v; }
inline std::optional<std::string> PgParam(int64_t v) { return std::to_string(v); }
inline std::optional<std::string> PgParam(int v) { return std::to_string(v); }
inline std::optional<std::string> PgParam(bool v) { return std::string(v ? "t" : "f"); }
inline std::optional<std::string> PgParam(std::optional<int64_t> v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}
template <class... A>
PgParams MakePgParams(const A&... a) {
  return PgParams{PgParam(a)...};
}

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* res);
  PgResult(PgResult&&) noexcept = default;
  PgResult& operator=(PgResult&&) noexcept = default;

  int rows() const;
  bool IsNull(int row, int col) const;
  std::string_view Text(int row, int col) const;  // "" for NULL
  std::string String(int row, int col) const { return std::string(Text(row, col)); }
  int64_t Int(int row, int col) const;  // 0 for NULL
  std::optional<int64_t> OptInt(int row, int col) const;
  bool Bool(int row, int col) const;
  int64_t affected() const;  // rows changed by INSERT/UPDATE/DELETE

 private:
  struct Clear {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Clear> res_;
};

class PgConnection {
 public:
  // Connects (blocking up to options.connect_timeout). InvalidArgument for a malformed URL,
  // Unavailable when the server cannot be reached or refuses the session.
  [[nodiscard]] static Result<std::unique_ptr<PgConnection>> Connect(
      const PostgresOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Simple-protocol query; `sql` may hold several statements (the last one's rows come back).
  [[nodiscard]] Result<PgResult> Exec(std::string_view sql);
  // Runs a named statement, preparing it on this connection first if needed.
  [[nodiscard]] Result<PgResult> Run(const PgStatement& statement, const PgParams& params);
  // Runs `calls` as ONE implicit transaction in libpq's pipeline mode: every statement is sent
  // before any result is read, so the batch costs about one round trip and one commit. Returns
  // every statement's result once committed, or the first statement's error (nothing committed).
  [[nodiscard]] Result<std::vector<PgResult>> RunInOneTransaction(const std::vector<PgCall>& calls);

  // False once the session is known to be lost; the pool then drops the connection.
  bool ok() const;
  // For a connection that sat idle: reads anything the server sent meanwhile (a shutdown
  // notice, EOF) and says whether the session still looks usable. Never blocks.
  bool CheckAlive();
  // "host:port/db", for messages.
  const std::string& server() const { return server_; }
  pg_conn* raw() { return conn_; }

 private:
  PgConnection(pg_conn* conn, std::string server) : conn_(conn), server_(std::move(server)) {}
  Result<PgResult> Check(pg_result* res, std::string_view what);
  Status Prepare(const PgStatement& statement);
  Status Lost();  // marks the session unusable and says so

  pg_conn* conn_;
  std::string server_;
  std::unordered_set<std::string> prepared_;  // statement names prepared on this session
  bool broken_ = false;  // a pipeline lost track of the protocol: never reuse
};

// "host:port/db" of a libpq URL or connection string, or InvalidArgument when it does not parse.
[[nodiscard]] Result<std::string> DescribePostgresServer(const std::string& url);

}  // namespace inferline::store
