#include "app/http_options.h"

namespace inferline::app {

void DeclareHttpOptions(config::Config& cfg, HttpConfig& h, int64_t default_port) {
  cfg.String("http.host", &h.host, "0.0.0.0", "Address to listen on", "--host");
  cfg.Int("http.port", &h.port, default_port, 0, 65535, "Port to listen on (0: any free port)",
          "--port");
  cfg.Int("http.io_threads", &h.io_threads, 2, 1, 256, "HTTP I/O threads");
  cfg.Int("http.max_header_bytes", &h.max_header_bytes, 16 * 1024, 1024, 1 << 20,
          "Largest request header block accepted (431 above)");
  cfg.Int("http.max_body_bytes", &h.max_body_bytes, 1 << 20, 1024, 64 << 20,
          "Largest request body accepted (413 above)");
  cfg.Int("http.header_timeout_ms", &h.header_timeout_ms, 10'000, 100, 600'000,
          "Time allowed to receive a request's headers");
  cfg.Int("http.body_timeout_ms", &h.body_timeout_ms, 30'000, 100, 600'000,
          "Time allowed to receive a request's body");
  cfg.Int("http.idle_timeout_ms", &h.idle_timeout_ms, 60'000, 100, 3'600'000,
          "Keep-alive connections idle this long are closed");
  cfg.Int("http.shutdown_grace_ms", &h.shutdown_grace_ms, 10'000, 0, 600'000,
          "On SIGTERM/SIGINT, time given to in-flight requests before they are cut");
  cfg.Bool("http.access_log", &h.access_log, true, "Log one line per request");
}

http::HttpServerOptions HttpConfig::ToOptions() const {
  http::HttpServerOptions o;
  o.host = host;
  o.port = static_cast<uint16_t>(port);
  o.io_threads = static_cast<int>(io_threads);
  o.max_header_bytes = static_cast<size_t>(max_header_bytes);
  o.max_body_bytes = static_cast<size_t>(max_body_bytes);
  o.header_timeout = std::chrono::milliseconds(header_timeout_ms);
  o.body_timeout = std::chrono::milliseconds(body_timeout_ms);
  o.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  o.shutdown_grace = std::chrono::milliseconds(shutdown_grace_ms);
  o.access_log = access_log;
  return o;
}

}  // namespace inferline::app
