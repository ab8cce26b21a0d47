// Every metric of the OpenAI-compatible upstream back-end, declared in one place (sorted).
//
//   inferline_upstream_circuit_open                gauge, 1 while the circuit breaker is open or
//                                                  half-open (probing), 0 when closed
//   inferline_upstream_request_duration_seconds    histogram, one request from Submit to its end,
//                                                  every attempt and backoff included
//   inferline_upstream_requests_total{code}        counter, attempts by outcome: the HTTP status
//                                                  ("200", "503", ...), or "connect_error",
//                                                  "timeout", "cancelled" when no status came
//   inferline_upstream_retries_total               counter, attempts made again after a failure
//
// Thread-safety: the referenced metrics are thread-safe.
#pragma once

#include "common/metrics.h"

namespace inferline::worker {

struct UpstreamMetrics {
  explicit UpstreamMetrics(metrics::Registry& registry);

  metrics::Gauge& circuit_open;
  metrics::Histogram& request_duration_seconds;
  metrics::CounterFamily& requests_total;
  metrics::Counter& retries_total;
};

}  // namespace inferline::worker
