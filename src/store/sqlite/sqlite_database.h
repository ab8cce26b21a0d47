// SqliteDatabase: the embedded deployment's one database file, shared by SqliteStore, the
// embedded broker (queue/sqlite) and the local quota ledger (quota/local).
//
// Writes: every write from every thread goes through ONE writer connection doing group commit,
// run by one thread at a time. The writer thread drains the queue, runs the waiting operations
// in one transaction (should one fail, the batch runs again with each operation inside its own
// SAVEPOINT, so that the failing one rolls back alone), commits once, then completes every
// waiter. Thousands of small durable writes per second thus
// cost one commit per batch. A blocking Write that finds nothing queued and nothing running
// commits on its own thread instead: an idle database answers without the two thread wake-ups
// of a hand-off (a sync request's path is a chain of such single writes). Writes run in
// submission order either way, so an operation submitted after another (by the same thread, or
// after observing its effect) commits in the same or a later transaction: WriteAsync followed
// by Write makes both durable when Write returns.
//
// Reads use a pool of separate connections; in WAL mode they run concurrently with the writer
// and see every transaction committed before they started.
//
// Checkpoints: a WalCheckpointer copies the WAL back into the database file on a thread of its
// own; the writer only finishes the job when the WAL is due to start over.
//
// Durability: journal_mode=WAL with synchronous=NORMAL (the default) survives a crash of the
// process (kill -9) at any point; only an OS crash or power loss can lose the last commits.
// synchronous_full makes every commit fsync as well.
//
// Thread-safety: every method may be called from any thread. Write and Read block (disk): never
// call them on an HTTP I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/sqlite/change_signal.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_metrics.h"
#include "store/sqlite/wal_checkpointer.h"

namespace inferline::store {

struct DatabaseOptions {
  std::string path;  // a file: WAL needs one (created if missing)
  int readers = 4;
  int busy_timeout_ms = 5000;
  bool synchronous_full = false;
  size_t max_batch = 4096;  // operations per transaction at most
  // The longest a WriteAsync(..., kSoon) waits for a transaction to ride along with.
  std::chrono::microseconds defer{1000};
  CheckpointOptions checkpoint;  // when the WAL is copied back (see wal_checkpointer.h)
  metrics::Registry* metrics = nullptr;  // null: metrics::Registry::Default()
};

// What a write operation sees: the writer's connection inside an open transaction.
class WriteTx {
 public:
  explicit WriteTx(Connection& conn) : conn_(conn) {}
  Connection& conn() { return conn_; }
  // Runs `fn` after the transaction committed (dropped if it did not), on the thread that ran
  // the transaction (the writer thread, or a Write's caller that found the writer idle).
  void AfterCommit(std::function<void()> fn) { hooks_.push_back(std::move(fn)); }
  // Adds `tokens` and one message to the queue_counts row (queue, state, dead) for a message
  // this operation inserted. The batch adds up its operations' counts and writes each row once,
  // just before it commits (counts of an operation that failed are dropped with it): a trigger
  // per inserted row cost the writer about a tenth of its time per admission.
  void CountInserted(std::string_view queue, int64_t state, int64_t tokens);

  // One queue_counts row's pending addition.
  struct QueueCount {
    std::string queue;
    int64_t state = 0;
    int64_t n = 0;
    int64_t tokens = 0;
  };

 private:
  friend class SqliteDatabase;
  Connection& conn_;
  std::vector<std::function<void()>> hooks_;
  std::vector<QueueCount> counts_;
};

struct WriterStats {
  uint64_t transactions = 0;
  uint64_t operations = 0;
  uint64_t retried_batches = 0;  // ran again, each operation in a savepoint, after one failed
  CheckpointStats checkpoints;
};

class SqliteDatabase {
 public:
  using WriteFn = std::function<Status(WriteTx&)>;
  using DoneFn = std::function<void(const Status&)>;

  // Opens (creating if needed) the file, applies the embedded migrations and starts the writer.
  [[nodiscard]] static Result<std::shared_ptr<SqliteDatabase>> Open(const DatabaseOptions& options);
  ~SqliteDatabase();  // finishes queued writes, then stops the writer
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Runs `fn` in the writer's next transaction and returns its Status once committed (or the
  // commit's error). `fn` runs on the writer thread, or on the calling thread when the writer
  // is idle, and must not call Write itself. It may run more than once: when an operation of
  // its batch fails, the transaction is rolled back and the batch runs again (each operation
  // in a savepoint), so `fn` must only assign its outputs, and leave any effect outside the
  // database to WriteTx::AfterCommit. Neither `fn`
  // nor `done` may own the database (a shared_ptr to it): the writer thread must never be the
  // one that destroys it.
  [[nodiscard]] Status Write(WriteFn fn);
  // Same without waiting; `done` (optional) runs after the commit on the thread that ran it.
  // kSoon defers the write to the next transaction that runs anyway, or DatabaseOptions::defer
  // at the latest, instead of waking the writer for it: a write that nobody waits for (a quota
  // journal row, a key's last use) then rides along with the next one instead of taking a
  // transaction of its own ahead of it.
  enum class Urgency { kNow, kSoon };
  void WriteAsync(WriteFn fn, DoneFn done = {}, Urgency urgency = Urgency::kNow);
  // Runs the queued deferred writes now (someone is waiting for one of them).
  void Nudge();

  // Runs `fn` with a reader connection borrowed from the pool; returns what `fn` returns.
  template <class F>
  auto Read(F&& fn) -> decltype(fn(std::declval<Connection&>())) {
    using R = decltype(fn(std::declval<Connection&>()));
    std::optional<R> out;
    Status st = ReadWith([&](Connection& c) {
      out.emplace(fn(c));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return std::move(*out);
  }

  // Notified after commits that made queue messages visible (see queue/sqlite).
  QueueSignals& queue_signals() { return queue_signals_; }
  int schema_version() const { return schema_version_; }
  const std::string& path() const { return options_.path; }
  WriterStats writer_stats() const;

 private:
  // Lives on the waiting thread's stack; the writer signals it under `mu` so that the waiter
  // cannot return (and destroy it) while the writer still touches it.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
    void Complete(Status st);
  };
  struct Op {
    WriteFn fn;
    Waiter* waiter = nullptr;
    DoneFn done;
    Status status;
  };

  explicit SqliteDatabase(DatabaseOptions options)
      : options_(std::move(options)),
        metrics_(options_.metrics ? *options_.metrics : metrics::Registry::Default()) {}
  Status Init();
  Status ReadWith(const std::function<Status(Connection&)>& fn);
  void Enqueue(Op op, bool urgent);
  void WriterLoop();
  // What the successful operations of a batch leave for its commit.
  struct BatchEffects {
    std::vector<std::function<void()>> hooks;   // after the commit
    std::vector<WriteTx::QueueCount> counts;    // written just before it
    void Clear() {
      hooks.clear();
      counts.clear();
    }
  };
  void RunBatch(std::vector<Op>& batch);
  Status RunOp(Op& op, bool savepoint, BatchEffects& effects);
  Status Commit(BatchEffects& effects);

  DatabaseOptions options_;
  SqliteMetrics metrics_;
  int schema_version_ = 0;
  QueueSignals queue_signals_;

  // Declared before the writer's connection, whose WAL hook it is: destroyed after it.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  std::unique_ptr<Connection> writer_conn_;  // owned by the writer thread once it runs

  std::mutex mu_;  // guards pending_, running_, wake_, deferred_until_, stopping_
  std::condition_variable cv_;
  std::vector<Op> pending_;
  bool running_ = false;  // a batch is running (on the writer thread or a Write's caller)
  bool wake_ = false;     // pending_ holds a write that must run now (not only deferred ones)
  std::chrono::steady_clock::time_point deferred_until_;  // when deferred writes run at the latest
  bool stopping_ = false;
  std::thread writer_;

  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> operations_{0};
  std::atomic<uint64_t> retried_batches_{0};

  std::mutex readers_mu_;  // guards free_readers_
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> free_readers_;
};

}  // namespace inferline::store
