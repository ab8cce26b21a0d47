// WalCheckpointer: keeps the embedded database's write-ahead log short without making the
// group-commit writer do the copying.
//
// SQLite's automatic checkpoint runs inside whichever commit takes the WAL past 1,000 pages:
// that commit copies every page of the WAL back into the database file and waits for two
// fsyncs, and every request queued behind it waits too. Here a thread of its own copies the WAL
// as it grows (a PASSIVE checkpoint each time the WAL grows by `step_pages`, then a flush of the
// database file). The WAL only starts over once everything in it has been copied, and a pass
// beside a writer that keeps appending never catches up: so from `restart_pages` on, once what
// the passes left is at most `step_pages`, the committing thread checkpoints that remainder
// itself, and its next transaction starts the WAL over. If the passes fall far behind (the WAL
// at 4 times `restart_pages`), the writer checkpoints whatever is left, as SQLite would.
//
// A read transaction pins the frames it may need: while reads overlap without a gap, no
// checkpoint can copy past the oldest and the WAL keeps growing (as with SQLite's own
// checkpoints). An I/O error while copying or flushing stops checkpoints for good: Linux may
// report a failed write-back only once, and a later checkpoint that seemed to succeed would let
// the WAL, the only sound copy, be overwritten. The WAL then keeps every change; restarting the
// process replays it.
//
// Thread-safety: OnCommit runs on whichever thread commits on the writer connection (one at a
// time: the database runs one batch at a time); the background thread owns its own connection.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_metrics.h"

namespace inferline::store {

struct CheckpointOptions {
  int step_pages = 1000;     // a background pass each time the WAL grows by this much
  int restart_pages = 4000;  // from this WAL size on, the writer copies the remainder

  [[nodiscard]] Status Validate() const;
};

struct CheckpointStats {
  uint64_t background = 0;  // background passes that copied frames
  uint64_t writer = 0;      // checkpoints by the writer that copied the whole WAL
  uint64_t restarts = 0;    // commits that found the WAL started over
  bool failed = false;      // checkpoints stopped after an I/O error
};

class WalCheckpointer {
 public:
  // Opens its own connection to `path` and starts the background thread. `metrics` must
  // outlive the checkpointer.
  [[nodiscard]] static Result<std::unique_ptr<WalCheckpointer>> Start(const std::string& path,
                                                                       CheckpointOptions options,
                                                                       int busy_timeout_ms,
                                                                       SqliteMetrics& metrics);
  ~WalCheckpointer();  // stops the background thread (a pass in progress finishes first)
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Turns SQLite's automatic checkpoint off on `writer` and watches its commits instead. The
  // checkpointer must outlive the connection (or the connection's hook).
  [[nodiscard]] Status Attach(Connection& writer);

  CheckpointStats stats() const;

 private:
  WalCheckpointer(CheckpointOptions options, std::unique_ptr<Connection> conn,
                  SqliteMetrics& metrics)
      : options_(options), conn_(std::move(conn)), metrics_(metrics) {}
  static int OnCommit(void* self, sqlite3* writer, const char* db_name, int pages);
  void Commit(sqlite3* writer, int pages);
  void Loop();
  void Pass();
  // Counts a checkpoint that failed; an I/O error stops checkpoints for good.
  void Failed(int rc, const char* what, const char* message);

  const CheckpointOptions options_;
  std::unique_ptr<Connection> conn_;  // the background thread's
  SqliteMetrics& metrics_;

  // The committing thread's (one at a time): the WAL's size at the last commit, and its size
  // divided by step_pages when a pass was last asked for.
  int last_pages_ = 0;
  int last_step_ = 0;
  // Frames copied so far, as the last checkpoint reported them (0 after a restart).
  std::atomic<int> backfilled_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> warned_{false};  // a failure was logged since the last success

  std::mutex mu_;  // guards wanted_, stopping_
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<uint64_t> background_{0};
  std::atomic<uint64_t> writer_{0};
  std::atomic<uint64_t> restarts_{0};
};

}  // namespace inferline::store
