#include "store/sqlite/sqlite_metrics.h"

namespace inferline::store {

namespace {

metrics::CounterFamily& Checkpoints(metrics::Registry& r) {
  return r.AddCounter("inferline_store_checkpoints_total", "WAL checkpoints completed", {"by"});
}

}  // namespace

SqliteMetrics::SqliteMetrics(metrics::Registry& r)
    : checkpoints_background(Checkpoints(r).With({"background"})),
      checkpoints_writer(Checkpoints(r).With({"writer"})),
      commit_seconds(r.AddHistogram("inferline_store_commit_seconds",
                                    "Time to run and commit one group-commit transaction")
                         .Get()),
      write_batch_size(r.AddHistogram("inferline_store_write_batch_size",
                                      "Write operations per group-commit transaction", {},
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})
                           .Get()),
      write_errors_total(r.AddCounter("inferline_store_write_errors_total",
                                      "Write operations that failed")
                             .Get()) {}

}  // namespace inferline::store
