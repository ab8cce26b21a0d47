#include "store/sqlite/sqlite_migrations.h"

#include <fmt/format.h>

namespace inferline::store {
namespace {

Result<int> CurrentVersion(Connection& conn) {
  ASSIGN_OR_RETURN(Statement st, conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                              "schema_migrations"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<int>(st.Int(0)) : 0;
}

Status ApplyOne(Connection& conn, const Migration& m, int64_t now_ms) {
  RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  // Another process may have applied it while we waited for the write lock.
  Result<int> current = CurrentVersion(conn);
  Status st = current.status();
  if (st.ok() && *current < m.version) {
    st = conn.Exec(std::string(m.sql)).Annotate(fmt::format("migration {}", m.name));
    if (st.ok()) {
      Result<Statement> ins = conn.Prepare(
          "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?1, ?2, ?3)");
      st = ins.status();
      if (st.ok()) st = ins->Bind(1, int64_t{m.version}).Bind(2, m.name).Bind(3, now_ms).Run();
    }
  }
  if (!st.ok()) {
    (void)conn.Exec("ROLLBACK");
    return st;
  }
  return conn.Exec("COMMIT");
}

}  // namespace

Result<std::vector<Migration>> ParseMigrations(const std::vector<EmbeddedFile>& files) {
  std::vector<Migration> out;
  for (const EmbeddedFile& f : files) {
    size_t digits = 0;
    while (digits < f.name.size() && f.name[digits] >= '0' && f.name[digits] <= '9') ++digits;
    if (digits == 0 || digits > 6 || !f.name.ends_with(".sql")) {
      return InvalidArgument(fmt::format("migration file '{}' is not named NNNN_name.sql", f.name));
    }
    int version = std::stoi(std::string(f.name.substr(0, digits)));
    if (version <= 0 || (!out.empty() && version <= out.back().version)) {
      return InvalidArgument(fmt::format("migration '{}' has version {}, not above the previous",
                                         f.name, version));
    }
    out.push_back(Migration{version, std::string(f.name), f.content});
  }
  return out;
}

Result<int> ApplyMigrations(Connection& conn, const std::vector<Migration>& migrations,
                            int64_t now_ms) {
  RETURN_IF_ERROR(conn.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(int version, CurrentVersion(conn));
  int newest = migrations.empty() ? 0 : migrations.back().version;
  if (version > newest) {
    return FailedPrecondition(fmt::format(
        "database schema version {} is newer than this binary's ({}); upgrade inferline",
        version, newest));
  }
  for (const Migration& m : migrations) {
    if (m.version <= version) continue;
    RETURN_IF_ERROR(ApplyOne(conn, m, now_ms));
    version = m.version;
  }
  return CurrentVersion(conn);
}

}  // namespace inferline::store
