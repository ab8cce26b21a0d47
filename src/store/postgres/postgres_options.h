// Options of the PostgreSQL store (store/postgres): where the server is and how the store uses
// it. The URL is libpq's, e.g. postgresql://user:pass@host:5432/db?sslmode=disable; the other
// fields override what the URL says about timeouts.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace inferline::metrics {
class Registry;
}

namespace inferline::store {

struct PostgresOptions {
  std::string url;  // config: postgres.url
  // Connections for reads and account writes; a caller waits up to acquire_timeout for one.
  int pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  // libpq rounds up to whole seconds (and waits at least 2).
  std::chrono::milliseconds connect_timeout{5000};
  // Server-side limit per statement (SET statement_timeout); 0 disables it.
  std::chrono::milliseconds statement_timeout{30000};
  // Group commit of request writes (accept, start, finalize, cancel): `writers` connections
  // each commit up to max_batch queued writes per transaction. max_batch = 1 gives one
  // transaction per write. One writer makes the largest batches: with two, the distributed
  // admission benchmark committed about 2.8 writes per transaction and PostgreSQL spent
  // 15 us more CPU per accepted request (bench/distributed/run.sh, three interleaved pairs).
  int writers = 1;
  size_t max_batch = 256;
  std::string application_name = "inferline";
  metrics::Registry* metrics = nullptr;  // null: metrics::Registry::Default()
};

}  // namespace inferline::store
