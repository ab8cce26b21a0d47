#include "store/sqlite/sqlite_metrics.h"

namespace inferline::store {

namespace {

metrics::CounterFamily& Checkpoints(metrics::Registry& r) {
  return r.AddCounter("inferline_store_checkpoints_total", "WAL checkpoints completed", {"by"});
}

}  // namespace

SqliteMetrics::SqliteMetrics(metrics::Registry& r)
    : checkpoint_failures_total(r.AddCounter("inferline_store_checkpoint_failures_total",
                                             "WAL checkpoints or flushes that failed")
                                    .Get()),
      checkpoints_background(Checkpoints(r).With({"background"})),
      checkpoints_writer(Checkpoints(r).With({"writer"})),
      commit_seconds(r.AddHistogram("inferline_store_commit_seconds",
                                    "Time to run and commit one group-commit transaction")
                         .Get()),
      batch_retries_total(r.AddCounter("inferline_store_write_batch_retries_total",
                                       "Group-commit transactions rolled back because one write "
                                       "failed, then run again")
                              .Get()),
      write_batch_size(r.AddHistogram("inferline_store_write_batch_size",
                                      "Write operations per group-commit transaction", {},
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})
                           .Get()),
      wal_restarts_total(r.AddCounter("inferline_store_wal_restarts_total",
                                      "Times the WAL started over")
                             .Get()),
      write_errors_total(r.AddCounter("inferline_store_write_errors_total",
                                      "Write operations that failed")
                             .Get()) {}

}  // namespace inferline::store
