// PgGroupCommit: coalesces single-statement writes that arrive concurrently from many threads
// into few transactions. `writers` threads each own a session; an idle writer takes up to
// max_batch queued writes, runs them as one transaction in libpq's pipeline mode (every
// statement sent before any result is read, one implicit transaction up to the Sync) and then
// completes every waiter, so N concurrent finalizes cost about one round trip and one commit
// (one WAL flush) instead of N. A lone write runs as a plain statement.
//
// Each write is ONE statement whose effect is complete on its own (the store's request writes
// are written that way, with CTEs), plus a handler that reads the statement's rows. Writes of
// one kind may also name a many-row form of their statement (PgWrite::merged): a batch then runs
// them as one statement. When a
// statement fails inside a batch, the transaction is rolled back and every write of the batch
// runs again alone, so a bad write fails alone and the others still commit. Handlers may
// therefore run twice and must only assign their outputs. When the session is lost, every write
// of the batch gets Unavailable (a failed COMMIT leaves the outcome unknown: the store's writes
// are idempotent or report AlreadyExists, so callers may retry). The writer reconnects on its
// next batch.
//
// Thread-safety: Write and WriteAsync may be called from any thread. Handlers and `done`
// callbacks run on a writer thread; mu_ guards pending_ and stopping_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_metrics.h"
#include "store/postgres/postgres_options.h"

namespace inferline::store {

struct PgWrite {
  const PgStatement* statement = nullptr;
  PgParams params;
  // Reads the statement's rows into the caller's outputs; may return a logical error
  // (NotFound, AlreadyExists) which does not abort the batch. Optional.
  std::function<Status(const PgResult&)> on_result;

  // Optional: the same write for many rows in one statement. When a batch holds several
  // writes with the same `merged`, they run as that one statement: its parameter i is a
  // PostgreSQL array of every such write's parameter i (in batch order), and it returns a row
  // for each write that took effect whose first column is the write's 1-based ordinal. Each
  // write then gets `on_merged` with the index of its row, or -1 when none came back. Writes
  // with the same non-empty `merge_key` (the same request id) never share a statement, so
  // a merged statement needs no care for duplicates among its rows. A statement per row costs
  // PostgreSQL its executor set-up and constraint checks per row; merged, per batch.
  const PgStatement* merged = nullptr;
  std::string merge_key;
  std::function<Status(const PgResult&, int row)> on_merged;
};

// PostgreSQL's text form of an array of text values ({"a","b\"c",NULL}), for a parameter
// cast to an array type.
std::string PgTextArray(const std::vector<const std::optional<std::string>*>& values);

struct PgWriterStats {
  uint64_t transactions = 0;
  uint64_t operations = 0;
  uint64_t merged_statements = 0;  // statements that ran several writes (PgWrite::merged)
};

class PgGroupCommit {
 public:
  PgGroupCommit(PostgresOptions options, PostgresMetrics& metrics);
  ~PgGroupCommit();  // finishes queued writes, then stops the writers
  PgGroupCommit(const PgGroupCommit&) = delete;
  PgGroupCommit& operator=(const PgGroupCommit&) = delete;

  // Returns once the write committed: the handler's Status, or the statement's/commit's error.
  [[nodiscard]] Status Write(PgWrite write);
  // Same without waiting; `done` (optional) runs on the writer thread.
  void WriteAsync(PgWrite write, std::function<void(const Status&)> done = {});

  PgWriterStats stats() const;
  // Waits until every write submitted so far has committed (or failed) and its `done` ran.
  void Flush();

 private:
  // Lives on the waiting thread's stack; completed under its mutex (see SqliteDatabase).
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
    void Complete(Status st);
  };
  struct Op {
    PgWrite write;
    Waiter* waiter = nullptr;
    std::function<void(const Status&)> done;
    Status status;
  };

  void Enqueue(Op op);
  void WriterLoop();
  void RunBatch(std::unique_ptr<PgConnection>& conn, std::vector<Op>& batch);
  Status RunOne(PgConnection& conn, Op& op);
  Status RunTogether(PgConnection& conn, std::vector<Op>& batch);

  PostgresOptions options_;
  PostgresMetrics& metrics_;

  std::mutex mu_;  // guards pending_, stopping_, running_
  std::condition_variable cv_;
  std::condition_variable idle_;  // pending_ empty and no batch running (Flush)
  std::vector<Op> pending_;
  int running_ = 0;  // batches taken by writers and not finished
  bool stopping_ = false;
  std::vector<std::thread> writers_;

  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> operations_{0};
  std::atomic<uint64_t> merged_statements_{0};
};

}  // namespace inferline::store
