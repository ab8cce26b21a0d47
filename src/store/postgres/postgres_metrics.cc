#include "store/postgres/postgres_metrics.h"

namespace inferline::store {

PostgresMetrics::PostgresMetrics(metrics::Registry& r)
    : commit_seconds(r.AddHistogram("inferline_store_commit_seconds",
                                    "Time to run and commit one group-commit transaction")
                         .Get()),
      outbox_publish_errors_total(
          r.AddCounter("inferline_store_outbox_publish_errors_total",
                       "Broker publishes of outbox rows that failed (retried later)")
              .Get()),
      outbox_published_total(r.AddCounter("inferline_store_outbox_published_total",
                                          "Outbox rows published to the broker and deleted")
                                 .Get()),
      pool_wait_seconds(r.AddHistogram("inferline_store_pool_wait_seconds",
                                       "Time spent waiting for a pooled PostgreSQL connection")
                            .Get()),
      batch_retries_total(r.AddCounter("inferline_store_write_batch_retries_total",
                                       "Group-commit transactions rolled back because one write "
                                       "failed, then run again")
                              .Get()),
      write_batch_size(r.AddHistogram("inferline_store_write_batch_size",
                                      "Write operations per group-commit transaction", {},
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})
                           .Get()),
      write_errors_total(r.AddCounter("inferline_store_write_errors_total",
                                      "Write operations that failed")
                             .Get()) {}

}  // namespace inferline::store
