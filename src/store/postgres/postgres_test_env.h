// Shared by the integration tests of store/postgres: one private PostgreSQL server per test
// binary (started on first use, stopped at exit) and a fresh, migrated database per test.
//
// Thread-safety: call from the test's main thread (the server is tied to the thread that started
// it, see testing/postgres_server.h); the returned URLs may be used anywhere.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_migrations.h"
#include "store/postgres/postgres_options.h"
#include "store/postgres/testing/postgres_server.h"

namespace inferline::store::pgtest {

inline testing::PostgresServer& SharedServer() {
  static std::unique_ptr<testing::PostgresServer> server = [] {
    auto s = testing::PostgresServer::Start();
    if (!s.ok()) {
      ADD_FAILURE() << "cannot start PostgreSQL: " << s.status().ToString();
      std::abort();
    }
    return std::move(*s);
  }();
  return *server;
}

// Options for `url` with metrics in a private registry (tests must not share counters).
inline PostgresOptions Options(const std::string& url) {
  static metrics::Registry registry;
  PostgresOptions o;
  o.url = url;
  o.metrics = &registry;
  o.connect_timeout = std::chrono::seconds(2);
  o.acquire_timeout = std::chrono::seconds(10);
  return o;
}

// A new empty database on the shared server; migrated unless `migrate` is false.
inline std::string FreshDatabase(bool migrate = true) {
  static std::atomic<int> next{0};
  auto url = SharedServer().CreateDatabase("t" + std::to_string(next.fetch_add(1)));
  if (!url.ok()) {
    ADD_FAILURE() << url.status().ToString();
    std::abort();
  }
  if (migrate) {
    auto v = RunPostgresMigrations(Options(*url));
    if (!v.ok()) {
      ADD_FAILURE() << "migrations: " << v.status().ToString();
      std::abort();
    }
  }
  return *url;
}

inline std::unique_ptr<PgConnection> Connect(const std::string& url) {
  auto c = PgConnection::Connect(Options(url));
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    return nullptr;
  }
  return std::move(*c);
}

// The single integer a query returns, or -1 on error.
inline int64_t QueryInt(const std::string& url, const std::string& sql) {
  auto c = Connect(url);
  if (!c) return -1;
  auto r = c->Exec(sql);
  if (!r.ok() || r->rows() != 1) {
    ADD_FAILURE() << sql << ": " << r.status().ToString();
    return -1;
  }
  return r->Int(0, 0);
}

}  // namespace inferline::store::pgtest
