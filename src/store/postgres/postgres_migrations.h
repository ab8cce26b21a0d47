// Versioned schema migrations of the PostgreSQL store (what `inferline migrate` runs).
//
//   Result<int> RunPostgresMigrations(const PostgresOptions& options);  // -> schema version
//
// The files migrations/postgres/NNNN_name.sql are compiled into the binary (as the embedded
// store's are), so a pod needs nothing but its URL (options.url; options.connect_timeout and
// statement_timeout apply too, statement_timeout 0 suits long migrations). Applied versions are
// recorded in schema_migrations(version, name, applied_at). Safe when several pods run it at
// once: the run holds a session-level pg_advisory_lock while it reads and applies, so the others
// wait and then find nothing left to do. Each migration runs in its own transaction together with
// its schema_migrations row. A database migrated by a newer binary is refused
// (FailedPrecondition), as is an unreachable server (Unavailable, naming it).
//
// Thread-safety: functions; each call uses its own session.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/postgres/postgres_options.h"

namespace inferline::store {

class PgConnection;

[[nodiscard]] Result<int> RunPostgresMigrations(const PostgresOptions& options);
// The same on a session the caller owns.
[[nodiscard]] Result<int> RunPostgresMigrations(PgConnection& conn);

// The newest schema version this binary knows, and the version a database has (0 when it was
// never migrated). PostgresStore::Open refuses a database older than the binary.
int LatestPostgresSchemaVersion();
[[nodiscard]] Result<int> PostgresSchemaVersion(PgConnection& conn);

namespace pg_schema {
// The files of migrations/postgres, sorted by name (generated source).
struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
};
const std::vector<EmbeddedFile>& EmbeddedMigrationFiles();
}  // namespace pg_schema

}  // namespace inferline::store
