// The embedded deployment's data directory: where `inferline serve` and `inferline keys` find
// the SQLite database (and serve writes the admin key), so that both open the same store.
//
// Thread-safety: functions called on the main thread at start-up.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/sqlite/sqlite_database.h"
#include "store/store.h"

namespace inferline::app {

inline constexpr const char* kDatabaseFile = "inferline.db";
inline constexpr const char* kAdminUser = "admin";

// `configured` when given; else ./data when it exists or the working directory is writable;
// else $XDG_DATA_HOME/inferline (~/.local/share/inferline).
std::filesystem::path ResolveDataDir(const std::string& configured);

// Creates the directory (0700) if needed and opens the database in it.
[[nodiscard]] Result<std::shared_ptr<store::SqliteDatabase>> OpenDataDir(
    const std::filesystem::path& dir);

// On the first start (no user `admin`): creates it with plan `unlimited` and an admin key, and
// writes the key to `key_file` readable by its owner only (0600). Logs the file's path, never
// the key. Returns whether a key was created.
[[nodiscard]] Result<bool> EnsureAdminKey(store::Store& store, const std::filesystem::path& key_file);

}  // namespace inferline::app
