// HttpServer: an HTTP/1.1 server on Boost.Beast + Asio, one C++20 coroutine per connection.
//
// Start() binds host:port (port 0 picks a free one, see port()) and starts `io_threads` threads,
// each running its own event loop. Accepted connections are spread over the loops round-robin and
// stay on theirs, so a handler always runs on one thread and needs no locks for per-connection
// state. Keep-alive is supported; pipelined requests are answered in order. A handler must never
// block: it would stall every connection on its loop.
//
// Limits, each answered with an OpenAI-style JSON error before the connection is closed:
// headers over max_header_bytes -> 431, a body over max_body_bytes -> 413, a malformed request
// -> 400, a request not fully received within header_timeout (headers) or body_timeout (body)
// -> 408 (only logged and counted: the stream's deadline has closed the socket already, as nginx
// does). The timeouts are deadlines for the whole phase, so a client trickling one byte a
// second is cut off. An idle keep-alive connection is closed after idle_timeout.
//
// Shutdown(grace) stops accepting, closes idle connections, interrupts event streams and other
// handlers that asked for it (RequestContext::InterruptOnShutdown), lets the other in-flight
// requests finish for up to `grace`, then force-closes what is left. Wait() returns once every
// io thread has exited.
//
// Thread-safety: Start, Shutdown and Wait may be called from any thread, but Wait must not be
// called from an io thread (it joins them). Shutdown may be called from a handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/status.h"
#include "http/router.h"

namespace inferline::http {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;  // 0: an ephemeral port, see HttpServer::port()
  int io_threads = 2;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // first byte of a request to end of headers
  std::chrono::milliseconds body_timeout{30'000};    // end of headers to end of body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};   // one response or one event written
  std::chrono::milliseconds shutdown_grace{10'000};
  bool access_log = true;  // one info line per request
};

class HttpServer {
 public:
  // `registry` receives the metrics of http_metrics.h and must outlive the server.
  HttpServer(HttpServerOptions options, Router router,
             metrics::Registry& registry = metrics::Registry::Default());
  ~HttpServer();  // Shutdown(0) and Wait() if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. Fails with Unavailable if the address is taken.
  [[nodiscard]] Status Start();

  // The bound port (after Start).
  uint16_t port() const;

  // Begins a graceful shutdown; returns at once. Later calls do nothing.
  void Shutdown();
  void Shutdown(std::chrono::milliseconds grace);

  bool stopping() const;

  // Blocks until the io threads have exited (after Shutdown, or when Start failed).
  void Wait();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferline::http
