#include "store/postgres/pg_group_commit.h"

#include <fmt/format.h>

#include <chrono>
#include <exception>

#include "common/log.h"
#include "common/thread_name.h"

namespace inferline::store {

PgGroupCommit::PgGroupCommit(PostgresOptions options, PostgresMetrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {
  if (options_.writers < 1) options_.writers = 1;
  if (options_.max_batch < 1) options_.max_batch = 1;
  for (int i = 0; i < options_.writers; ++i) writers_.emplace_back([this] {
      NameThisThread("pg-writer");
      WriterLoop();
    });
}

PgGroupCommit::~PgGroupCommit() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : writers_) t.join();
}

void PgGroupCommit::Waiter::Complete(Status st) {
  std::lock_guard lock(mu);
  status = std::move(st);
  done = true;
  cv.notify_one();
}

Status PgGroupCommit::Write(PgWrite write) {
  Waiter waiter;
  Enqueue(Op{std::move(write), &waiter, {}, {}});
  std::unique_lock lock(waiter.mu);
  waiter.cv.wait(lock, [&] { return waiter.done; });
  return std::move(waiter.status);
}

void PgGroupCommit::WriteAsync(PgWrite write, std::function<void(const Status&)> done) {
  Enqueue(Op{std::move(write), nullptr, std::move(done), {}});
}

void PgGroupCommit::Enqueue(Op op) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      pending_.push_back(std::move(op));
      cv_.notify_one();
      return;
    }
  }
  op.status = Unavailable("the PostgreSQL store is closed");
  if (op.done) op.done(op.status);
  if (op.waiter != nullptr) op.waiter->Complete(op.status);
}

void PgGroupCommit::WriterLoop() {
  std::unique_ptr<PgConnection> conn;  // this writer's session, reconnected when lost
  std::vector<Op> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !pending_.empty() || stopping_; });
      if (pending_.empty()) return;  // stopping, and everything submitted is done
      size_t n = std::min(pending_.size(), options_.max_batch);
      auto end = pending_.begin() + static_cast<std::ptrdiff_t>(n);
      batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(end));
      pending_.erase(pending_.begin(), end);
      ++running_;
    }
    RunBatch(conn, batch);
    batch.clear();
    std::lock_guard lock(mu_);
    if (--running_ == 0 && pending_.empty()) idle_.notify_all();
  }
}

void PgGroupCommit::Flush() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return pending_.empty() && running_ == 0; });
}

Status PgGroupCommit::RunOne(PgConnection& conn, Op& op) {
  auto res = conn.Run(*op.write.statement, op.write.params);
  if (!res.ok()) return res.status();
  if (!op.write.on_result) return Status::Ok();
  try {
    return op.write.on_result(*res);
  } catch (const std::exception& e) {
    return Internal(fmt::format("write handler threw: {}", e.what()));
  }
}

// Every statement in one pipelined transaction. Returns the first statement's error (nothing
// committed) or the commit's; the handlers' own statuses are left in each op.
Status PgGroupCommit::RunTogether(PgConnection& conn, std::vector<Op>& batch) {
  std::vector<PgCall> calls;
  calls.reserve(batch.size());
  for (const Op& op : batch) calls.push_back(PgCall{op.write.statement, &op.write.params});
  ASSIGN_OR_RETURN(std::vector<PgResult> results, conn.RunInOneTransaction(calls));
  for (size_t i = 0; i < batch.size(); ++i) {
    Op& op = batch[i];
    op.status = Status::Ok();
    if (!op.write.on_result) continue;
    try {
      op.status = op.write.on_result(results[i]);
    } catch (const std::exception& e) {
      op.status = Internal(fmt::format("write handler threw: {}", e.what()));
    }
  }
  return Status::Ok();
}

void PgGroupCommit::RunBatch(std::unique_ptr<PgConnection>& conn, std::vector<Op>& batch) {
  auto started = std::chrono::steady_clock::now();
  Status batch_status;
  if (!conn || !conn->CheckAlive()) {  // lost while idle (server restart): reconnect
    conn.reset();
    auto fresh = PgConnection::Connect(options_);
    if (fresh.ok()) {
      conn = std::move(*fresh);
    } else {
      batch_status = fresh.status();
    }
  }
  if (batch_status.ok() && batch.size() == 1) {
    batch[0].status = RunOne(*conn, batch[0]);
  } else if (batch_status.ok()) {
    Status st = RunTogether(*conn, batch);
    if (!st.ok() && conn->ok() && conn->CheckAlive()) {
      // One statement failed (or the commit did, with the session intact): each write alone.
      log::Debug("group commit of {} writes failed ({}); running them one by one", batch.size(),
                 st.ToString());
      for (Op& op : batch) op.status = RunOne(*conn, op);
      transactions_.fetch_add(batch.size() - 1, std::memory_order_relaxed);
    } else {
      batch_status = st;
    }
  }
  if (!batch_status.ok()) {
    for (Op& op : batch) op.status = batch_status;
  }
  transactions_.fetch_add(1, std::memory_order_relaxed);
  operations_.fetch_add(batch.size(), std::memory_order_relaxed);
  metrics_.commit_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_.write_batch_size.Observe(static_cast<double>(batch.size()));
  for (Op& op : batch) {
    if (!op.status.ok()) metrics_.write_errors_total.Inc();
    if (op.done) op.done(op.status);
    if (op.waiter != nullptr) op.waiter->Complete(std::move(op.status));
  }
}

PgWriterStats PgGroupCommit::stats() const {
  return PgWriterStats{transactions_.load(std::memory_order_relaxed),
                       operations_.load(std::memory_order_relaxed)};
}

}  // namespace inferline::store
