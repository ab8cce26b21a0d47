// Versioned schema migrations for the embedded SQLite database. The files
// migrations/sqlite/NNNN_name.sql are compiled into the binary at build time
// (embed_migrations.cmake), so a binary carries its schema and needs no files at run time.
// Each pending migration runs in its own transaction together with its schema_migrations row,
// in version order; a database written by a newer binary is refused.
//
// Thread-safety: functions over a Connection the caller owns exclusively.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/sqlite/sqlite_connection.h"

namespace inferline::store {

struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
};

// The files of migrations/sqlite, sorted by name (generated source).
const std::vector<EmbeddedFile>& EmbeddedMigrationFiles();

struct Migration {
  int version = 0;
  std::string name;
  std::string_view sql;
};

// Versions come from the leading digits of each name and must be unique, positive and
// increasing with the name order.
[[nodiscard]] Result<std::vector<Migration>> ParseMigrations(
    const std::vector<EmbeddedFile>& files);

// Applies every migration newer than the database's version. Returns the resulting version.
[[nodiscard]] Result<int> ApplyMigrations(Connection& conn,
                                          const std::vector<Migration>& migrations,
                                          int64_t now_ms);

}  // namespace inferline::store
