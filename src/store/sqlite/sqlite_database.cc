#include "store/sqlite/sqlite_database.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <exception>

#include "common/thread_name.h"
#include "store/sqlite/sqlite_migrations.h"

namespace inferline::store {
namespace {

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status RunCached(Connection& conn, std::string_view sql) {
  ASSIGN_OR_RETURN(Statement st, conn.Prepare(sql));
  return st.Run();
}

}  // namespace

Result<std::shared_ptr<SqliteDatabase>> SqliteDatabase::Open(const DatabaseOptions& options) {
  if (options.path.empty() || options.path == ":memory:" || options.path.starts_with("file:")) {
    return InvalidArgument("the embedded database needs a file path (WAL mode)", "path");
  }
  if (options.readers < 1 || options.readers > 64) {
    return InvalidArgument("readers must be 1..64", "readers");
  }
  RETURN_IF_ERROR(options.checkpoint.Validate());
  std::shared_ptr<SqliteDatabase> db(new SqliteDatabase(options));
  RETURN_IF_ERROR(db->Init());
  return db;
}

Status SqliteDatabase::Init() {
  if (sqlite3_threadsafe() == 0) return Internal("SQLite was built without thread support");
  ASSIGN_OR_RETURN(writer_conn_, Connection::Open(options_.path, Connection::Mode::kReadWrite,
                                                  options_.busy_timeout_ms));
  Connection& w = *writer_conn_;
  RETURN_IF_ERROR(w.Exec("PRAGMA journal_mode=WAL").Annotate(options_.path));
  RETURN_IF_ERROR(w.Exec(options_.synchronous_full ? "PRAGMA synchronous=FULL"
                                                   : "PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(w.Exec("PRAGMA temp_store=MEMORY"));
  {
    // journal_mode=WAL silently stays "memory"/"delete" on some file systems; refuse that.
    ASSIGN_OR_RETURN(Statement st, w.Prepare("PRAGMA journal_mode"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.Text(0) != "wal") {
      return Unavailable(fmt::format("'{}' cannot use WAL journaling", options_.path));
    }
  }
  ASSIGN_OR_RETURN(std::vector<Migration> migrations, ParseMigrations(EmbeddedMigrationFiles()));
  ASSIGN_OR_RETURN(schema_version_, ApplyMigrations(w, migrations, NowMillis()));
  ASSIGN_OR_RETURN(checkpointer_, WalCheckpointer::Start(options_.path, options_.checkpoint,
                                                         options_.busy_timeout_ms, metrics_));
  RETURN_IF_ERROR(checkpointer_->Attach(w));

  for (int i = 0; i < options_.readers; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> r,
                     Connection::Open(options_.path, Connection::Mode::kReadWrite,
                                      options_.busy_timeout_ms));
    RETURN_IF_ERROR(r->Exec("PRAGMA query_only=1"));
    free_readers_.push_back(std::move(r));
  }
  writer_ = std::thread([this] {
    NameThisThread("sqlite-writer");
    WriterLoop();
  });
  return Status::Ok();
}

SqliteDatabase::~SqliteDatabase() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

Status SqliteDatabase::Write(WriteFn fn) {
  Waiter waiter;
  Op op{std::move(fn), &waiter, {}, {}};
  {
    std::unique_lock lock(mu_);
    if (!stopping_ && !running_ && pending_.size() < options_.max_batch) {
      // Nothing running: commit here, with whatever is queued ahead (so order holds).
      running_ = true;
      std::vector<Op> batch;
      batch.swap(pending_);
      wake_ = false;
      lock.unlock();
      // Hand the writer back even if a callback of the batch throws.
      struct Release {
        SqliteDatabase* db;
        ~Release() {
          std::lock_guard relock(db->mu_);
          db->running_ = false;
          if (!db->pending_.empty() || db->stopping_) {  // queued meanwhile: the writer takes it
            db->wake_ = db->wake_ || !db->pending_.empty();
            db->cv_.notify_one();
          }
        }
      } release{this};
      batch.push_back(std::move(op));
      RunBatch(batch);
      return std::move(waiter.status);
    }
  }
  Enqueue(std::move(op), /*urgent=*/true);
  std::unique_lock lock(waiter.mu);
  waiter.cv.wait(lock, [&] { return waiter.done; });
  return std::move(waiter.status);
}

void SqliteDatabase::Waiter::Complete(Status st) {
  std::lock_guard lock(mu);
  status = std::move(st);
  done = true;
  cv.notify_one();
}

void SqliteDatabase::WriteAsync(WriteFn fn, DoneFn done, Urgency urgency) {
  Enqueue(Op{std::move(fn), nullptr, std::move(done), {}}, urgency == Urgency::kNow);
}

void SqliteDatabase::Nudge() {
  {
    std::lock_guard lock(mu_);
    if (pending_.empty() || wake_) return;
    wake_ = true;
  }
  cv_.notify_one();
}

// The writer is signalled after the mutex is released (cv_ lives as long as the database): a
// thread woken while the signaller still holds the mutex blocks on it at once, and the unlock
// then costs a second futex wake-up.
void SqliteDatabase::Enqueue(Op op, bool urgent) {
  {
    std::unique_lock lock(mu_);
    if (!stopping_) {
      const bool first = pending_.empty();
      pending_.push_back(std::move(op));
      bool notify = false;
      if (urgent && !wake_) {
        wake_ = true;
        notify = true;
      } else if (!urgent && first && !wake_) {
        // The writer starts the clock for the deferred write (and runs it sooner if an urgent
        // one arrives meanwhile).
        deferred_until_ = std::chrono::steady_clock::now() + options_.defer;
        notify = true;
      }
      lock.unlock();
      if (notify) cv_.notify_one();
      return;
    }
  }
  // Closed: complete at once, outside the lock.
  op.status = Unavailable("the database is closed");
  if (op.done) op.done(op.status);
  if (op.waiter != nullptr) op.waiter->Complete(op.status);
}

void SqliteDatabase::WriterLoop() {
  std::vector<Op> batch;
  std::unique_lock lock(mu_);
  while (true) {
    if (stopping_ && pending_.empty() && !running_) return;  // everything submitted is done
    if (running_ || pending_.empty()) {
      if (pending_.empty()) wake_ = false;  // e.g. a Write's caller ran what was queued
      cv_.wait(lock);
      continue;
    }
    if (!wake_ && !stopping_) {
      // Only deferred writes are queued: run them when their time is up, or with the next
      // urgent write.
      if (cv_.wait_until(lock, deferred_until_) == std::cv_status::timeout) {
        wake_ = !pending_.empty();
      }
      continue;
    }
    running_ = true;
    if (pending_.size() <= options_.max_batch) {
      batch.swap(pending_);
    } else {
      auto end = pending_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch);
      batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(end));
      pending_.erase(pending_.begin(), end);
    }
    wake_ = !pending_.empty();
    lock.unlock();
    RunBatch(batch);
    batch.clear();
    lock.lock();
    running_ = false;
  }
}

void WriteTx::CountInserted(std::string_view queue, int64_t state, int64_t tokens) {
  for (QueueCount& c : counts_) {
    if (c.state == state && c.queue == queue) {
      ++c.n;
      c.tokens += tokens;
      return;
    }
  }
  counts_.push_back(QueueCount{std::string(queue), state, 1, tokens});
}

Status SqliteDatabase::RunOp(Op& op, bool savepoint, BatchEffects& effects) {
  Connection& conn = *writer_conn_;
  if (savepoint) RETURN_IF_ERROR(RunCached(conn, "SAVEPOINT op"));
  WriteTx tx(conn);
  Status st;
  try {
    st = op.fn(tx);
  } catch (const std::exception& e) {
    st = Internal(fmt::format("write operation threw: {}", e.what()));
  }
  if (sqlite3_get_autocommit(conn.raw()) != 0) {
    // SQLite rolled the whole transaction back (I/O error, disk full): the batch is lost.
    return st.ok() ? Internal("transaction ended inside a write operation") : st;
  }
  if (savepoint) {
    if (!st.ok()) RETURN_IF_ERROR(RunCached(conn, "ROLLBACK TO op"));
    RETURN_IF_ERROR(RunCached(conn, "RELEASE op"));
  }
  op.status = st;
  if (st.ok()) {
    for (auto& h : tx.hooks_) effects.hooks.push_back(std::move(h));
    for (auto& c : tx.counts_) effects.counts.push_back(std::move(c));
  }
  return Status::Ok();
}

// The batch's queue counts, one statement per row they change, then COMMIT.
Status SqliteDatabase::Commit(BatchEffects& effects) {
  auto& counts = effects.counts;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i].n == 0) continue;
    for (size_t j = i + 1; j < counts.size(); ++j) {  // a handful of queues: merge in place
      if (counts[j].state == counts[i].state && counts[j].queue == counts[i].queue) {
        counts[i].n += counts[j].n;
        counts[i].tokens += counts[j].tokens;
        counts[j].n = 0;
      }
    }
    ASSIGN_OR_RETURN(Statement st,
                     writer_conn_->Prepare(
                         "INSERT INTO queue_counts (queue, state, dead, n, tokens) "
                         "VALUES (?1, ?2, 0, ?3, ?4) ON CONFLICT (queue, state, dead) DO UPDATE "
                         "SET n = n + excluded.n, tokens = tokens + excluded.tokens"));
    RETURN_IF_ERROR(st.Bind(1, counts[i].queue)
                        .Bind(2, counts[i].state)
                        .Bind(3, counts[i].n)
                        .Bind(4, counts[i].tokens)
                        .Run());
  }
  return RunCached(*writer_conn_, "COMMIT");
}

// The batch runs first with no savepoints: one around each operation costs a statement
// journal that copies every page the operation touches that an earlier one already changed
// (the right-edge B-tree leaves that every admission shares), which doubled the writer's CPU
// per operation. Should an operation fail, it may have left part of its writes, so the whole
// transaction is rolled back and the batch runs again with each operation in its own
// SAVEPOINT, where the failing one rolls back alone. Operations may therefore run twice (see
// WriteFn); failures are rare (a duplicate id), so the second pass is too.
void SqliteDatabase::RunBatch(std::vector<Op>& batch) {
  auto started = std::chrono::steady_clock::now();
  Connection& conn = *writer_conn_;
  BatchEffects effects;
  const size_t n = batch.size();
  Status batch_status = RunCached(conn, "BEGIN IMMEDIATE");
  bool op_failed = false;
  for (size_t i = 0; batch_status.ok() && !op_failed && i < n; ++i) {
    batch_status = RunOp(batch[i], /*savepoint=*/false, effects);
    op_failed = batch_status.ok() && !batch[i].status.ok();
  }
  if (batch_status.ok() && op_failed) {
    batch_status = RunCached(conn, "ROLLBACK");
    effects.Clear();
    if (batch_status.ok() && n == 1) {
      batch_status = batch[0].status;  // report the op's own error
    } else if (batch_status.ok()) {
      retried_batches_.fetch_add(1, std::memory_order_relaxed);
      transactions_.fetch_add(1, std::memory_order_relaxed);  // the first, rolled back
      metrics_.batch_retries_total.Inc();
      batch_status = RunCached(conn, "BEGIN IMMEDIATE");
      for (size_t i = 0; batch_status.ok() && i < n; ++i) {
        batch_status = RunOp(batch[i], /*savepoint=*/true, effects);
      }
      if (batch_status.ok()) batch_status = Commit(effects);
    }
  } else if (batch_status.ok()) {
    batch_status = Commit(effects);
  }
  if (!batch_status.ok()) {
    if (sqlite3_get_autocommit(conn.raw()) == 0) (void)conn.Exec("ROLLBACK");
    effects.hooks.clear();
    for (Op& op : batch) op.status = batch_status;
  }
  transactions_.fetch_add(1, std::memory_order_relaxed);
  operations_.fetch_add(batch.size(), std::memory_order_relaxed);
  metrics_.commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_.write_batch_size.Observe(static_cast<double>(batch.size()));
  for (const Op& op : batch) {
    if (!op.status.ok()) metrics_.write_errors_total.Inc();
  }

  for (auto& h : effects.hooks) h();
  for (Op& op : batch) {
    if (op.done) op.done(op.status);
    if (op.waiter != nullptr) op.waiter->Complete(std::move(op.status));
  }
}

Status SqliteDatabase::ReadWith(const std::function<Status(Connection&)>& fn) {
  std::unique_ptr<Connection> conn;
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !free_readers_.empty(); });
    conn = std::move(free_readers_.back());
    free_readers_.pop_back();
  }
  Status st;
  try {
    st = fn(*conn);
  } catch (const std::exception& e) {
    st = Internal(fmt::format("read operation threw: {}", e.what()));
  }
  {
    std::lock_guard lock(readers_mu_);
    free_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
  return st;
}

WriterStats SqliteDatabase::writer_stats() const {
  return WriterStats{transactions_.load(std::memory_order_relaxed),
                     operations_.load(std::memory_order_relaxed),
                     retried_batches_.load(std::memory_order_relaxed), checkpointer_->stats()};
}

}  // namespace inferline::store
