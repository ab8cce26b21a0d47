#include "worker/upstream_metrics.h"

namespace inferline::worker {

UpstreamMetrics::UpstreamMetrics(metrics::Registry& r)
    : circuit_open(r.AddGauge("inferline_upstream_circuit_open",
                              "1 while the upstream circuit breaker is open or half-open")
                       .Get()),
      request_duration_seconds(
          r.AddHistogram("inferline_upstream_request_duration_seconds",
                         "Time of one upstream request, retries and backoff included")
              .Get()),
      requests_total(r.AddCounter("inferline_upstream_requests_total",
                                  "Upstream attempts by HTTP status or failure", {"code"})),
      retries_total(r.AddCounter("inferline_upstream_retries_total",
                                 "Upstream attempts made again after a failure")
                        .Get()) {}

}  // namespace inferline::worker
