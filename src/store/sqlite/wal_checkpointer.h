// WalCheckpointer: keeps the embedded database's write-ahead log short without making the
// group-commit writer do the copying.
//
// SQLite's automatic checkpoint runs inside whichever commit takes the WAL past 1,000 pages:
// that commit copies every page of the WAL back into the database file and waits for two
// fsyncs, and every request queued behind it waits too. Here a thread of its own copies the WAL
// as it grows (a PASSIVE checkpoint every `step_pages`, beside the writer). A concurrent
// checkpoint never catches up with a writer that keeps appending, though, and the WAL only
// starts over once everything in it has been copied: so when the WAL reaches `restart_pages`
// the committing thread checkpoints what the background pass has not copied yet (a small
// remainder), and its next transaction starts the WAL over. If the background pass is running
// at that moment, the writer leaves it be and tries again after its next commit.
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
  int step_pages = 1000;     // the background pass runs each time the WAL grows by this much
  int restart_pages = 4000;  // the writer finishes the checkpoint from this WAL size on
};

struct CheckpointStats {
  uint64_t background = 0;  // background passes completed
  uint64_t writer = 0;      // complete checkpoints by the writer (the WAL then starts over)
};

class WalCheckpointer {
 public:
  // Opens its own connection to `path` and starts the background thread. `metrics` must
  // outlive the checkpointer.
  [[nodiscard]] static Result<std::unique_ptr<WalCheckpointer>> Start(const std::string& path,
                                                                       CheckpointOptions options,
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
                  SqliteMetrics& metrics, int db_fd)
      : options_(options), conn_(std::move(conn)), metrics_(metrics), db_fd_(db_fd) {}
  static int OnCommit(void* self, sqlite3* writer, const char* db_name, int pages);
  void Commit(sqlite3* writer, int pages);
  void Loop();

  const CheckpointOptions options_;
  std::unique_ptr<Connection> conn_;  // the background thread's
  SqliteMetrics& metrics_;
  const int db_fd_;  // the database file, to flush what a pass copied

  int last_step_ = 0;  // WAL size / step_pages at the last request for a pass (committing thread)

  std::mutex mu_;  // guards wanted_, stopping_
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;

  std::atomic<uint64_t> background_{0};
  std::atomic<uint64_t> writer_{0};
};

}  // namespace inferline::store
