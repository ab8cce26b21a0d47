#include "store/postgres/pg_pool.h"

#include <fmt/format.h>

#include <chrono>

namespace inferline::store {

PgPool::PgPool(PostgresOptions options, metrics::Histogram* wait_seconds)
    : options_(std::move(options)), wait_seconds_(wait_seconds) {
  if (options_.pool_size < 1) options_.pool_size = 1;
}

PgPool::~PgPool() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

Result<PgPool::Lease> PgPool::Acquire() {
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + options_.acquire_timeout;
  std::unique_ptr<PgConnection> conn;
  {
    std::unique_lock lock(mu_);
    bool got = cv_.wait_until(lock, deadline, [&] {
      return !idle_.empty() || open_ < options_.pool_size;
    });
    if (!got) {
      return Unavailable(fmt::format(
          "all {} PostgreSQL connections stayed busy for {} ms", options_.pool_size,
          options_.acquire_timeout.count()));
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  if (wait_seconds_ != nullptr) {
    wait_seconds_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (conn && !conn->CheckAlive()) conn.reset();  // died while idle: reconnect in its slot
  if (!conn) {
    auto fresh = PgConnection::Connect(options_);
    if (!fresh.ok()) {
      {
        std::lock_guard lock(mu_);
        --open_;
      }
      cv_.notify_one();
      return fresh.status();
    }
    conn = std::move(*fresh);
  }
  return Lease(this, std::move(conn));
}

void PgPool::Release(std::unique_ptr<PgConnection> conn) {
  // A session left inside a transaction (a caller bailed out mid-way) is not reusable either.
  bool reusable = conn->CheckAlive();
  if (!reusable) conn.reset();  // close outside the lock
  {
    std::lock_guard lock(mu_);
    if (reusable) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_one();
}

}  // namespace inferline::store
