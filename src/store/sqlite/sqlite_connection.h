// A thin RAII layer over the SQLite C API: a Connection with a cache of prepared statements, and
// a Statement handle that binds parameters, steps and reads columns, converting every SQLite
// error into a Status. Only code under store/sqlite and the other embedded (SQLite) adapters use
// it; the seams' interfaces never mention SQLite.
//
// Thread-safety: a Connection and its Statements belong to one thread at a time (the writer
// thread, or whoever borrowed a reader from SqliteDatabase). SQLite is opened in multi-thread
// mode, so distinct connections may be used concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace inferline::store {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();  // resets the cached statement for its next user

  // Parameters are 1-based. A failed bind is reported by the next Step/Run.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  // Without a copy: the bytes must stay valid until the statement has run to completion (or
  // this Statement is gone, which clears its bindings). For the writer's hot inserts, whose
  // values live in the operation being written.
  Statement& BindView(int index, std::string_view text);
  Statement& BindBlobView(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& Bind(int index, const std::optional<int64_t>& value);

  // true: a row is available; false: done.
  [[nodiscard]] Result<bool> Step();
  // Steps to completion, ignoring rows, then resets so the statement can be bound and run
  // again (e.g. in a loop).
  [[nodiscard]] Status Run();

  int64_t Int(int column) const;  // 0-based
  std::string Text(int column) const;
  std::optional<int64_t> OptInt(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = 0;
};

class Connection {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, Mode mode,
                                                  int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepares `sql` once per connection and hands out the cached statement afterwards.
  [[nodiscard]] Result<Statement> Prepare(std::string_view sql);
  // Runs one or more statements without caching (schema, pragmas, transaction control).
  [[nodiscard]] Status Exec(const std::string& sql);
  // Rows changed by the most recent INSERT/UPDATE/DELETE on this connection.
  int64_t Changes() const;
  sqlite3* raw() const { return db_; }

  // A Status describing the connection's latest error, prefixed by `what`.
  Status Error(int rc, std::string_view what) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

// Maps SQLite result codes to our codes: constraint -> AlreadyExists, busy/locked/full/IO ->
// Unavailable, corrupt -> DataLoss, everything else Internal.
Status SqliteStatus(int rc, std::string message);

}  // namespace inferline::store
