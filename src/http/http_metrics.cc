#include "http/http_metrics.h"

#include <charconv>

namespace inferline::http {

HttpMetrics::HttpMetrics(metrics::Registry& registry)
    : requests_total(registry.AddCounter("http_requests_total",
                                         "HTTP requests answered, by route pattern and status.",
                                         {"route", "code"})),
      request_duration_seconds(registry.AddHistogram(
          "http_request_duration_seconds", "Time to answer an HTTP request, by route pattern.",
          {"route"})),
      connections(registry.AddGauge("inferline_http_connections", "Open HTTP client connections.")
                      .Get()),
      connections_accepted_total(
          registry
              .AddCounter("inferline_http_connections_accepted_total",
                          "HTTP client connections accepted.")
              .Get()),
      rejected_total(registry.AddCounter("inferline_http_rejected_total",
                                         "HTTP requests refused before routing, by reason.",
                                         {"reason"})),
      sse_connections(
          registry.AddGauge("inferline_sse_connections", "Open server-sent event streams.")
              .Get()) {}

void HttpMetrics::RecordRequest(std::string_view route, unsigned code, double seconds) {
  char buf[8];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), code);
  std::string_view code_text(buf, ec == std::errc() ? end - buf : 0);
  requests_total.With({route, code_text}).Inc();
  request_duration_seconds.With({route}).Observe(seconds);
}

}  // namespace inferline::http
