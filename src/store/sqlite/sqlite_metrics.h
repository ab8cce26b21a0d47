// Every metric of the embedded SQLite database, declared in one place (sorted by name).
//
//   inferline_store_checkpoint_failures_total  counter, WAL checkpoints or flushes that
//                                        failed (an I/O error stops checkpoints for good)
//   inferline_store_checkpoints_total    counter, WAL checkpoints, by="background" (passes that
//                                        copied frames) or "writer" (remainders that copied the
//                                        whole WAL)
//   inferline_store_commit_seconds       histogram, time to run and commit one group-commit
//                                        transaction
//   inferline_store_write_batch_retries_total  counter, transactions rolled back because one
//                                        operation failed, then run again with a savepoint each
//   inferline_store_write_batch_size     histogram, write operations per transaction
//   inferline_store_wal_restarts_total   counter, times the WAL started over
//   inferline_store_write_errors_total   counter, write operations that failed (their own error
//                                        or a failed commit)
//
// Thread-safety: the referenced metrics are thread-safe.
#pragma once

#include "common/metrics.h"

namespace inferline::store {

struct SqliteMetrics {
  explicit SqliteMetrics(metrics::Registry& registry);

  metrics::Counter& checkpoint_failures_total;
  metrics::Counter& checkpoints_background;
  metrics::Counter& checkpoints_writer;
  metrics::Histogram& commit_seconds;
  metrics::Counter& batch_retries_total;
  metrics::Histogram& write_batch_size;
  metrics::Counter& wal_restarts_total;
  metrics::Counter& write_errors_total;
};

}  // namespace inferline::store
