// TestServer: an HttpServer on 127.0.0.1, port 0, with short timeouts and its own metrics
// registry, shut down and joined when the test ends.
//
// Thread-safety: create and destroy on the test thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/metrics.h"
#include "http/http_server.h"
#include "http/testing/raw_client.h"

namespace inferline::http::testing {

class TestServer {
 public:
  // Options with host 127.0.0.1, port 0, 2 io threads, 2 s timeouts, access log off.
  static HttpServerOptions Options();

  explicit TestServer(Router router, HttpServerOptions options = Options());
  ~TestServer();

  uint16_t port() const { return server_->port(); }
  HttpServer& server() { return *server_; }
  metrics::Registry& registry() { return registry_; }

 private:
  metrics::Registry registry_;
  std::unique_ptr<HttpServer> server_;
};

// One request on a fresh connection: "GET", "/healthz" -> the response, or nullopt.
std::optional<RawResponse> Fetch(uint16_t port, std::string_view method, std::string_view target,
                                 std::string_view body = {}, std::string_view extra_headers = {});

}  // namespace inferline::http::testing
