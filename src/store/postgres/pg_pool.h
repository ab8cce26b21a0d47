// PgPool: a bounded pool of PostgreSQL sessions. Acquire hands out an idle session (after
// checking that it survived its idle time) or opens a new one while fewer than `size` exist, and
// otherwise waits up to acquire_timeout for one to come back. A session returned broken (the
// server restarted, the network dropped) is closed, so the next Acquire reconnects: callers see
// Unavailable for the calls that ran into the outage and nothing more.
//
// Thread-safety: every method may be called from any thread; mu_ guards idle_ and open_. A Lease
// belongs to the thread that acquired it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_options.h"

namespace inferline::store {

class PgPool {
 public:
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_.get(); }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // `wait_seconds` (optional) observes how long each Acquire waited.
  PgPool(PostgresOptions options, metrics::Histogram* wait_seconds = nullptr);
  ~PgPool();  // every Lease must have been returned
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Unavailable when no session could be had within acquire_timeout or the server is down.
  [[nodiscard]] Result<Lease> Acquire();

  // Runs fn(PgConnection&) on a leased session; returns what fn returns.
  template <class F>
  auto With(F&& fn) -> decltype(fn(std::declval<PgConnection&>())) {
    auto lease = Acquire();
    if (!lease.ok()) return lease.status();
    return fn(**lease);
  }

  const PostgresOptions& options() const { return options_; }

 private:
  void Release(std::unique_ptr<PgConnection> conn);

  PostgresOptions options_;
  metrics::Histogram* wait_seconds_;
  std::mutex mu_;  // guards idle_, open_
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // sessions that exist: idle, leased or being opened
};

}  // namespace inferline::store
