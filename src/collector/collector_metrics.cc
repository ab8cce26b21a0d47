#include "collector/collector_metrics.h"

namespace inferline::collector {

CollectorMetrics::CollectorMetrics(metrics::Registry& r)
    : duplicate_results_total(
          r.AddCounter("inferline_collector_duplicate_results_total",
                       "Results for requests that were already final")
              .Get()),
      results_total(r.AddCounter("inferline_collector_results_total",
                                 "Results handled by the collector, by status", {"status"})),
      retries_total(r.AddCounter("inferline_collector_retries_total",
                                 "Results given back after a transient failure")
                        .Get()) {}

}  // namespace inferline::collector
