#include "store/postgres/postgres_migrations.h"

#include <fmt/format.h>

#include <chrono>
#include <string>

#include "store/postgres/pg_connection.h"

namespace inferline::store {
namespace {

// pg_advisory_lock key of migration runs: "inflmig" in ASCII.
constexpr std::string_view kLockKey = "29676258739448167";

struct Migration {
  int version = 0;
  std::string name;
  std::string_view sql;
};

Result<std::vector<Migration>> ParseFiles() {
  std::vector<Migration> out;
  for (const pg_schema::EmbeddedFile& f : pg_schema::EmbeddedMigrationFiles()) {
    size_t digits = 0;
    while (digits < f.name.size() && f.name[digits] >= '0' && f.name[digits] <= '9') ++digits;
    if (digits == 0 || digits > 6 || !f.name.ends_with(".sql")) {
      return Internal(fmt::format("migration file '{}' is not named NNNN_name.sql", f.name));
    }
    int version = std::stoi(std::string(f.name.substr(0, digits)));
    if (version <= 0 || (!out.empty() && version <= out.back().version)) {
      return Internal(fmt::format("migration '{}' has version {}, not above the previous",
                                  f.name, version));
    }
    out.push_back(Migration{version, std::string(f.name), f.content});
  }
  return out;
}

const PgStatement kRecord{
    "migrations_record",
    "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)"};

Status ApplyOne(PgConnection& conn, const Migration& m) {
  RETURN_IF_ERROR(conn.Exec("BEGIN").status());
  Status st = conn.Exec(m.sql).status().Annotate(fmt::format("migration {}", m.name));
  if (st.ok()) {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    st = conn.Run(kRecord, MakePgParams(m.version, m.name, now)).status();
  }
  if (!st.ok()) {
    if (conn.ok()) (void)conn.Exec("ROLLBACK");
    return st;
  }
  return conn.Exec("COMMIT").status();
}

Result<int> ApplyAll(PgConnection& conn, const std::vector<Migration>& migrations) {
  RETURN_IF_ERROR(conn.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
      "name text NOT NULL, applied_at bigint NOT NULL)").status());
  ASSIGN_OR_RETURN(int version, PostgresSchemaVersion(conn));
  int newest = migrations.empty() ? 0 : migrations.back().version;
  if (version > newest) {
    return FailedPrecondition(fmt::format(
        "PostgreSQL schema version {} is newer than this binary's ({}); upgrade inferline",
        version, newest));
  }
  for (const Migration& m : migrations) {
    if (m.version <= version) continue;
    RETURN_IF_ERROR(ApplyOne(conn, m));
  }
  return PostgresSchemaVersion(conn);
}

}  // namespace

int LatestPostgresSchemaVersion() {
  auto files = ParseFiles();
  return files.ok() && !files->empty() ? files->back().version : 0;
}

Result<int> PostgresSchemaVersion(PgConnection& conn) {
  ASSIGN_OR_RETURN(PgResult exists,
                   conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL"));
  if (exists.rows() != 1 || !exists.Bool(0, 0)) return 0;
  ASSIGN_OR_RETURN(PgResult v, conn.Exec("SELECT COALESCE(max(version), 0) FROM "
                                         "schema_migrations"));
  return static_cast<int>(v.Int(0, 0));
}

Result<int> RunPostgresMigrations(PgConnection& conn) {
  ASSIGN_OR_RETURN(std::vector<Migration> migrations, ParseFiles());
  // Session-level lock: other runs wait here, then see the versions this one recorded.
  RETURN_IF_ERROR(conn.Exec(fmt::format("SELECT pg_advisory_lock({})", kLockKey)).status());
  Result<int> version = ApplyAll(conn, migrations);
  if (conn.ok()) (void)conn.Exec(fmt::format("SELECT pg_advisory_unlock({})", kLockKey));
  return version;
}

Result<int> RunPostgresMigrations(const PostgresOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(options));
  return RunPostgresMigrations(*conn);
}

}  // namespace inferline::store
