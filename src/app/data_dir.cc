#include "app/data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "gateway/api_keys.h"

namespace inferline::app {
namespace fs = std::filesystem;

fs::path ResolveDataDir(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  if (fs::is_directory("data", ec) || ::access(".", W_OK) == 0) return fs::path("data");
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "inferline";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".local" / "share" / "inferline";
  }
  return fs::path("data");
}

Result<std::shared_ptr<store::SqliteDatabase>> OpenDataDir(const fs::path& dir) {
  std::error_code ec;
  bool created = fs::create_directories(dir, ec);
  if (ec) {
    return Unavailable(fmt::format("cannot create the data directory {}: {}", dir.string(),
                                   ec.message()));
  }
  if (created) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  store::DatabaseOptions options;
  options.path = (dir / kDatabaseFile).string();
  Result<std::shared_ptr<store::SqliteDatabase>> db = store::SqliteDatabase::Open(options);
  if (!db.ok()) return db.status().Annotate("opening " + options.path);
  return db;
}

namespace {

// Writes `text` to `path` with mode 0600 (replacing any older file atomically).
Status WriteSecretFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
  }
  ::fchmod(fd, 0600);  // whatever the umask
  ssize_t n = ::write(fd, text.data(), text.size());
  bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Unavailable(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace

Result<bool> EnsureAdminKey(store::Store& store, const fs::path& key_file) {
  Result<store::User> existing = store.GetUser(kAdminUser);
  if (existing.ok()) {
    log::Info("admin user exists; its first key was written to {} on the first start",
              key_file.string());
    return false;
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  gateway::IssueKeyRequest req;
  req.user_id = kAdminUser;
  req.plan = "unlimited";
  req.is_admin = true;
  req.name = "bootstrap admin key";
  ASSIGN_OR_RETURN(gateway::IssuedKey issued,
                   gateway::IssueKey(store, req, [](std::string_view) { return true; },
                                     store::Clock::now()));
  RETURN_IF_ERROR(WriteSecretFile(key_file, issued.secret + "\n"));
  log::Info("created the admin API key {} ({}); it was written to {} (mode 0600)", issued.key.id,
            issued.key.prefix, key_file.string());
  return true;
}

}  // namespace inferline::app
