// HTTP server options shared by every long-running subcommand (serve, gateway, worker,
// collector), declared once so their keys, flags and variables are the same everywhere.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "http/http_server.h"

namespace inferline::app {

struct HttpConfig {
  std::string host;
  int64_t port = 0;
  int64_t io_threads = 0;
  int64_t max_header_bytes = 0;
  int64_t max_body_bytes = 0;
  int64_t header_timeout_ms = 0;
  int64_t body_timeout_ms = 0;
  int64_t idle_timeout_ms = 0;
  int64_t shutdown_grace_ms = 0;
  bool access_log = true;

  http::HttpServerOptions ToOptions() const;
};

void DeclareHttpOptions(config::Config& cfg, HttpConfig& http, int64_t default_port);

}  // namespace inferline::app
