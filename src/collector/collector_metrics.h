// Every metric the collector exports, declared in one place (sorted by name).
//
//   inferline_collector_duplicate_results_total  counter, results for requests that were already
//                                                final (redeliveries, second runs, cancels)
//   inferline_collector_results_total{status}    counter, results handled, by the status they
//                                                carried: completed|failed|cancelled|expired, or
//                                                invalid (unreadable, dead-lettered) and
//                                                unknown (no such request)
//   inferline_collector_retries_total            counter, results given back after a transient
//                                                failure
//
// Token and request counts of the model (ml_*) are the worker's (worker/worker_metrics.h).
//
// Thread-safety: the referenced metrics are thread-safe.
#pragma once

#include "common/metrics.h"

namespace inferline::collector {

struct CollectorMetrics {
  explicit CollectorMetrics(metrics::Registry& registry);

  metrics::Counter& duplicate_results_total;
  metrics::CounterFamily& results_total;
  metrics::Counter& retries_total;
};

}  // namespace inferline::collector
