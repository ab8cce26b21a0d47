#include "store/sqlite/wal_checkpointer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace inferline::store {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                 CheckpointOptions options,
                                                                 SqliteMetrics& metrics) {
  if (options.step_pages < 1 || options.restart_pages < options.step_pages) {
    return InvalidArgument("checkpoint pages: need 1 <= step <= restart", "checkpoint_pages");
  }
  // A checkpoint takes no busy timeout: a PASSIVE one never waits.
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                   Connection::Open(path, Connection::Mode::kReadWrite, 0));
  // A connection opens the WAL at its first read; until then a checkpoint does nothing.
  RETURN_IF_ERROR(conn->Exec("SELECT count(*) FROM sqlite_schema"));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(options, std::move(conn), metrics, fd));
  c->thread_ = std::thread([raw = c.get()] { raw->Loop(); });
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ::close(db_fd_);
}

Status WalCheckpointer::Attach(Connection& writer) {
  RETURN_IF_ERROR(writer.Exec("PRAGMA wal_autocheckpoint=0"));
  sqlite3_wal_hook(writer.raw(), &WalCheckpointer::OnCommit, this);
  return Status::Ok();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* writer, const char*, int pages) {
  static_cast<WalCheckpointer*>(self)->Commit(writer, pages);
  return SQLITE_OK;  // a checkpoint's trouble is not the commit's
}

void WalCheckpointer::Commit(sqlite3* writer, int pages) {
  if (pages >= options_.restart_pages) {
    // Copy the remainder here, so that the next transaction starts the WAL over. SQLITE_BUSY:
    // the background pass holds the checkpoint lock; the next commit tries again.
    // A reader still on an older snapshot keeps the checkpoint from copying the newest frames
    // (and the WAL from starting over): only a complete one counts.
    int wal_frames = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                       &copied);
    if (rc == SQLITE_OK && copied == wal_frames) {
      writer_.fetch_add(1, std::memory_order_relaxed);
      metrics_.checkpoints_writer.Inc();
      last_step_ = 0;
    } else if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::Warn("sqlite: checkpoint failed: {}", sqlite3_errmsg(writer));
    }
    return;
  }
  const int step = pages / options_.step_pages;
  if (step < last_step_) last_step_ = step;  // the WAL started over
  if (step <= last_step_) return;
  last_step_ = step;
  {
    std::lock_guard lock(mu_);
    wanted_ = true;
  }
  cv_.notify_one();
}

void WalCheckpointer::Loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
    }
    int rc = sqlite3_wal_checkpoint_v2(conn_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                       nullptr);
    // SQLite syncs the database file only after a checkpoint that copied the whole WAL, which a
    // pass beside a busy writer never does: the writer's final checkpoint would then flush
    // every page the passes copied. Flush them here.
    if (rc == SQLITE_OK && ::fdatasync(db_fd_) != 0) {
      log::Warn("sqlite: syncing the database file failed: {}", std::strerror(errno));
    }
    if (rc == SQLITE_OK) {
      background_.fetch_add(1, std::memory_order_relaxed);
      metrics_.checkpoints_background.Inc();
    } else if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      log::Warn("sqlite: background checkpoint failed: {}", sqlite3_errmsg(conn_->raw()));
    }
  }
}

CheckpointStats WalCheckpointer::stats() const {
  return CheckpointStats{background_.load(std::memory_order_relaxed),
                         writer_.load(std::memory_order_relaxed)};
}

}  // namespace inferline::store
