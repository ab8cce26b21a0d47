#include "store/sqlite/wal_checkpointer.h"

#include <fmt/format.h>

#include <exception>

#include "common/log.h"
#include "common/thread_name.h"

namespace inferline::store {

Status CheckpointOptions::Validate() const {
  if (step_pages < 1 || restart_pages < step_pages) {
    return InvalidArgument("checkpoint pages: need 1 <= step_pages <= restart_pages",
                           "checkpoint");
  }
  return Status::Ok();
}

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                 CheckpointOptions options,
                                                                 int busy_timeout_ms,
                                                                 SqliteMetrics& metrics) {
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                   Connection::Open(path, Connection::Mode::kReadWrite, busy_timeout_ms));
  // A connection opens the WAL at its first read; until then a checkpoint does nothing.
  RETURN_IF_ERROR(conn->Exec("SELECT count(*) FROM sqlite_schema"));
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(options, std::move(conn), metrics));
  c->thread_ = std::thread([raw = c.get()] {
    NameThisThread("sqlite-ckpt");
    raw->Loop();
  });
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status WalCheckpointer::Attach(Connection& writer) {
  RETURN_IF_ERROR(writer.Exec("PRAGMA wal_autocheckpoint=0"));
  sqlite3_wal_hook(writer.raw(), &WalCheckpointer::OnCommit, this);
  return Status::Ok();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* writer, const char*, int pages) {
  try {
    static_cast<WalCheckpointer*>(self)->Commit(writer, pages);
  } catch (const std::exception&) {
    // Nothing may unwind through SQLite's C frames; a skipped checkpoint is retried later.
  }
  return SQLITE_OK;  // a checkpoint's trouble is not the commit's
}

void WalCheckpointer::Commit(sqlite3* writer, int pages) {
  if (pages < last_pages_) {
    restarts_.fetch_add(1, std::memory_order_relaxed);
    metrics_.wal_restarts_total.Inc();
    backfilled_.store(0, std::memory_order_relaxed);
    last_step_ = 0;
  }
  last_pages_ = pages;
  if (failed_.load(std::memory_order_relaxed)) return;
  if (const int step = pages / options_.step_pages; step > last_step_) {
    last_step_ = step;
    {
      std::lock_guard lock(mu_);
      wanted_ = true;
    }
    cv_.notify_one();
  }
  if (pages < options_.restart_pages) return;
  const bool small_remainder =
      pages - backfilled_.load(std::memory_order_relaxed) <= options_.step_pages;
  if (!small_remainder && pages < 4 * options_.restart_pages) return;  // the passes copy it
  // SQLITE_BUSY: a background pass holds the checkpoint lock; the next commit tries again.
  int wal_frames = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                     &copied);
  if (rc == SQLITE_OK) {
    warned_.store(false, std::memory_order_relaxed);
    backfilled_.store(copied, std::memory_order_relaxed);
    // A read on an older snapshot keeps a checkpoint from copying the newest frames (and the
    // WAL from starting over): only a complete one counts.
    if (copied == wal_frames) {
      writer_.fetch_add(1, std::memory_order_relaxed);
      metrics_.checkpoints_writer.Inc();
    }
  } else if (rc != SQLITE_BUSY) {
    Failed(rc, "checkpoint", sqlite3_errmsg(writer));
  }
}

void WalCheckpointer::Loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
    }
    if (!failed_.load(std::memory_order_relaxed)) Pass();
  }
}

void WalCheckpointer::Pass() {
  const int before = backfilled_.load(std::memory_order_relaxed);
  int wal_frames = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(conn_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     &wal_frames, &copied);
  if (rc != SQLITE_OK) {
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      Failed(rc, "background checkpoint", sqlite3_errmsg(conn_->raw()));
    }
    return;
  }
  if (copied <= 0 || copied == before) return;  // nothing new (a read pins the rest)
  // SQLite flushes the database file only after a checkpoint that copied the whole WAL, which
  // a pass beside a busy writer never does: the writer's final checkpoint would then flush
  // every page the passes copied. Flush them here, through SQLite's own file handle (closing
  // another descriptor of the file would drop the process's locks on it).
  sqlite3_file* file = nullptr;
  rc = sqlite3_file_control(conn_->raw(), "main", SQLITE_FCNTL_FILE_POINTER, &file);
  if (rc == SQLITE_OK && file != nullptr && file->pMethods != nullptr) {
    rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY);
  }
  if (rc != SQLITE_OK) {
    Failed(rc, "syncing the database file", sqlite3_errstr(rc));
    return;
  }
  warned_.store(false, std::memory_order_relaxed);
  backfilled_.store(copied, std::memory_order_relaxed);
  background_.fetch_add(1, std::memory_order_relaxed);
  metrics_.checkpoints_background.Inc();
}

void WalCheckpointer::Failed(int rc, const char* what, const char* message) {
  metrics_.checkpoint_failures_total.Inc();
  if ((rc & 0xff) == SQLITE_IOERR) {
    if (!failed_.exchange(true)) {
      log::Error("sqlite: {} failed ({}): checkpoints stop; the WAL keeps every change and is "
                 "replayed when the process starts again",
                 what, message);
    }
  } else if (!warned_.exchange(true)) {
    log::Warn("sqlite: {} failed ({}); retrying", what, message);
  }
}

CheckpointStats WalCheckpointer::stats() const {
  return CheckpointStats{background_.load(std::memory_order_relaxed),
                         writer_.load(std::memory_order_relaxed),
                         restarts_.load(std::memory_order_relaxed),
                         failed_.load(std::memory_order_relaxed)};
}

}  // namespace inferline::store
