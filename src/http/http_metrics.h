// Every metric the HTTP layer exports, declared in one place.
//
//   http_requests_total{route,code}          counter; route is the pattern ("/v1/requests/{id}"),
//                                            never the raw path; "unmatched" when no route matched
//   http_request_duration_seconds{route}     histogram, from the first header byte to the last
//                                            response byte
//   inferline_http_connections               gauge, open client connections
//   inferline_http_connections_accepted_total counter, connections accepted (churn)
//   inferline_http_rejected_total{reason}    counter, requests refused before routing:
//                                            bad_request, header_too_large, body_too_large, timeout
//   inferline_sse_connections                gauge, open event streams
//
// Thread-safety: the referenced metrics are thread-safe; RecordRequest may be called from any
// thread.
#pragma once

#include <string_view>

#include "common/metrics.h"

namespace inferline::http {

struct HttpMetrics {
  explicit HttpMetrics(metrics::Registry& registry);

  void RecordRequest(std::string_view route, unsigned code, double seconds);

  metrics::CounterFamily& requests_total;
  metrics::HistogramFamily& request_duration_seconds;
  metrics::Gauge& connections;
  metrics::Counter& connections_accepted_total;
  metrics::CounterFamily& rejected_total;
  metrics::Gauge& sse_connections;
};

}  // namespace inferline::http
