// Every metric of the PostgreSQL store and its outbox relay, declared in one place (sorted by
// name). The first three share their names with the embedded store's (sqlite_metrics.h): a
// process runs one store or the other, and dashboards read both the same way.
//
//   inferline_store_commit_seconds              histogram, time to run and commit one
//                                               group-commit transaction
//   inferline_store_outbox_publish_errors_total counter, broker publishes of outbox rows that
//                                               failed (the rows stay and are retried)
//   inferline_store_outbox_published_total      counter, outbox rows published and deleted
//   inferline_store_pool_wait_seconds           histogram, time spent waiting for a pooled
//                                               PostgreSQL connection
//   inferline_store_write_batch_retries_total   counter, transactions rolled back because one
//                                               write failed, then run write by write
//   inferline_store_write_batch_size            histogram, write operations per transaction
//   inferline_store_write_errors_total          counter, write operations that failed
//
// Thread-safety: the referenced metrics are thread-safe.
#pragma once

#include "common/metrics.h"

namespace inferline::store {

struct PostgresMetrics {
  explicit PostgresMetrics(metrics::Registry& registry);

  metrics::Histogram& commit_seconds;
  metrics::Counter& outbox_publish_errors_total;
  metrics::Counter& outbox_published_total;
  metrics::Histogram& pool_wait_seconds;
  metrics::Counter& batch_retries_total;
  metrics::Histogram& write_batch_size;
  metrics::Counter& write_errors_total;
};

}  // namespace inferline::store
