#include "http/testing/test_server.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace inferline::http::testing {

HttpServerOptions TestServer::Options() {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 2;
  options.header_timeout = std::chrono::milliseconds(2000);
  options.body_timeout = std::chrono::milliseconds(2000);
  options.idle_timeout = std::chrono::milliseconds(2000);
  options.write_timeout = std::chrono::milliseconds(2000);
  options.shutdown_grace = std::chrono::milliseconds(2000);
  options.access_log = false;
  return options;
}

TestServer::TestServer(Router router, HttpServerOptions options)
    : server_(std::make_unique<HttpServer>(std::move(options), std::move(router), registry_)) {
  Status status = server_->Start();
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TestServer::~TestServer() {
  server_->Shutdown(std::chrono::milliseconds(0));
  server_->Wait();
}

std::optional<RawResponse> Fetch(uint16_t port, std::string_view method, std::string_view target,
                                 std::string_view body, std::string_view extra_headers) {
  RawClient client(port);
  if (!client.connected()) return std::nullopt;
  std::string request = fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
      method, target, body.size(), extra_headers, body);
  if (!client.Send(request)) return std::nullopt;
  return client.ReadResponse(method == "HEAD");
}

}  // namespace inferline::http::testing
