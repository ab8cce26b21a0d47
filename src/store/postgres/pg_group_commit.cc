#include "store/postgres/pg_group_commit.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

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

namespace {

// A write's handler, with an exception turned into a Status.
template <class F>
Status Guarded(F&& handler) {
  try {
    return handler();
  } catch (const std::exception& e) {
    return Internal(fmt::format("write handler threw: {}", e.what()));
  }
}

}  // namespace

Status PgGroupCommit::RunOne(PgConnection& conn, Op& op) {
  auto res = conn.Run(*op.write.statement, op.write.params);
  if (!res.ok()) return res.status();
  if (!op.write.on_result) return Status::Ok();
  return Guarded([&] { return op.write.on_result(*res); });
}

std::string PgTextArray(const std::vector<const std::optional<std::string>*>& values) {
  size_t size = 2;
  for (const auto* v : values) size += (*v ? (*v)->size() + 3 : 5);
  std::string out;
  out.reserve(size + size / 16);
  out.push_back('{');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    const std::optional<std::string>& v = *values[i];
    if (!v) {
      out += "NULL";
      continue;
    }
    out.push_back('"');
    for (char c : *v) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

namespace {

// The most parameter bytes one merged statement carries (before array quoting).
constexpr size_t kMaxMergedBytes = 16u << 20;

// One statement of a batch's transaction: one write's, or several writes' merged.
struct Planned {
  const PgStatement* statement = nullptr;
  const PgParams* params = nullptr;  // the write's own, or `arrays`
  PgParams arrays;
  std::vector<size_t> ops;  // indexes into the batch, in batch order
  bool merged = false;
};

}  // namespace

// Every statement in one pipelined transaction. Returns the first statement's error (nothing
// committed) or the commit's; the handlers' own statuses are left in each op.
Status PgGroupCommit::RunTogether(PgConnection& conn, std::vector<Op>& batch) {
  // Which writes merge: those that name the same many-row form with the same number of
  // parameters, within kMaxMergedBytes, and whose key no earlier write of the group has. A
  // merged statement runs where the group's first write stood; a group left with one write
  // runs that write's own statement.
  struct Group {
    size_t at = 0;       // index into plan
    size_t columns = 0;  // parameters per write, set by the first write that joins
    size_t bytes = 0;
    std::unordered_set<std::string_view> keys;
  };
  std::unordered_map<const PgStatement*, Group> groups;
  std::vector<Planned> plan;
  plan.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const PgWrite& w = batch[i].write;
    if (w.merged != nullptr && w.on_merged) {
      // A merged statement goes to the server as one message: past kMaxMergedBytes of
      // parameters, writes run as their own statements (PostgreSQL refuses a message over
      // 1 GiB by ending the session).
      size_t bytes = 0;
      for (const auto& param : w.params) bytes += param ? param->size() : 0;
      auto [it, fresh] = groups.try_emplace(w.merged);
      Group& g = it->second;
      if (fresh) {
        g.at = plan.size();
        plan.push_back(Planned{w.merged, nullptr, {}, {}, true});
      }
      std::vector<size_t>& members = plan[g.at].ops;
      const bool fits = (members.empty() || g.columns == w.params.size()) &&
                        g.bytes + bytes <= kMaxMergedBytes;
      if (fits && (w.merge_key.empty() || g.keys.insert(w.merge_key).second)) {
        g.columns = w.params.size();
        g.bytes += bytes;
        members.push_back(i);
        continue;
      }
    }
    plan.push_back(Planned{w.statement, &w.params, {}, {i}, false});
  }
  // A write too large for any group leaves its group's place empty.
  std::erase_if(plan, [](const Planned& p) { return p.ops.empty(); });
  std::vector<PgCall> calls;
  calls.reserve(plan.size());
  for (Planned& p : plan) {
    if (p.merged && p.ops.size() == 1) {  // alone after all: its own statement
      const PgWrite& w = batch[p.ops.front()].write;
      p = Planned{w.statement, &w.params, {}, {p.ops.front()}, false};
    } else if (p.merged) {
      const size_t columns = batch[p.ops.front()].write.params.size();
      std::vector<const std::optional<std::string>*> column(p.ops.size());
      p.arrays.reserve(columns);
      for (size_t c = 0; c < columns; ++c) {
        for (size_t k = 0; k < p.ops.size(); ++k) column[k] = &batch[p.ops[k]].write.params[c];
        p.arrays.push_back(PgTextArray(column));
      }
      p.params = &p.arrays;
    }
    calls.push_back(PgCall{p.statement, p.params});
  }
  ASSIGN_OR_RETURN(std::vector<PgResult> results, conn.RunInOneTransaction(calls));
  for (size_t s = 0; s < plan.size(); ++s) {
    const Planned& p = plan[s];
    const PgResult& res = results[s];
    if (!p.merged) {
      Op& op = batch[p.ops.front()];
      op.status = Status::Ok();
      if (op.write.on_result) op.status = Guarded([&] { return op.write.on_result(res); });
      continue;
    }
    std::vector<int> row_of(p.ops.size(), -1);
    for (int r = 0; r < res.rows(); ++r) {
      int64_t ordinal = res.Int(r, 0);
      if (ordinal >= 1 && ordinal <= static_cast<int64_t>(p.ops.size())) {
        row_of[static_cast<size_t>(ordinal - 1)] = r;
      }
    }
    for (size_t k = 0; k < p.ops.size(); ++k) {
      Op& op = batch[p.ops[k]];
      op.status = Guarded([&] { return op.write.on_merged(res, row_of[k]); });
    }
  }
  merged_statements_.fetch_add(
      static_cast<uint64_t>(std::count_if(plan.begin(), plan.end(),
                                          [](const Planned& p) { return p.merged; })),
      std::memory_order_relaxed);
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
      metrics_.batch_retries_total.Inc();
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
                       operations_.load(std::memory_order_relaxed),
                       merged_statements_.load(std::memory_order_relaxed)};
}

}  // namespace inferline::store
