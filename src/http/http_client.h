// HttpClient: a small asynchronous HTTP/1.1 client for coroutines (upstream OpenAI-compatible
// servers, model downloads).
//
//   HttpClient client;
//   Result<ClientResponse> res = co_await client.Get("http://127.0.0.1:8000/v1/models");
//
// Each request has a deadline covering resolve, connect, write and read. Connections are kept
// per host:port after a keep-alive response and reused by later requests from the same executor;
// a request that fails on a reused connection before any response byte arrives is retried once on
// a fresh one (the server may have closed it while idle). Response bodies are limited to
// max_response_bytes.
//
// SendStreaming (http_client_streaming.cc) hands the body over piece by piece as it arrives
// (server-sent events from an upstream model server), with a deadline per phase and an
// AbortSignal that closes the connection from any thread.
//
// Missing: HTTPS ("https://" URLs fail with Unimplemented), proxies.
//
// Errors: InvalidArgument for a bad URL, Unavailable when the host cannot be reached or the
// exchange fails, DeadlineExceeded on timeout, ResourceExhausted for an oversized response.
// An HTTP error status is not a failure: check ClientResponse::result().
//
// Thread-safety: Send() may be called concurrently from several coroutines; the client must
// outlive them, and must be destroyed before the io_context its connections use. SendStreaming
// with an AbortSignal must run on a strand or a single-threaded io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "http/abort_signal.h"

namespace inferline::http {

using ClientResponse = boost::beast::http::response<boost::beast::http::string_body>;
// The status line and headers of a response, without its body.
using ResponseHead = boost::beast::http::response_header<>;

struct HttpClientOptions {
  std::chrono::milliseconds timeout{30'000};  // default deadline of one request
  size_t max_response_bytes = 64 * 1024 * 1024;
  size_t max_idle_per_host = 8;
  std::string user_agent = "inferline";
};

struct ClientRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string url;  // http://host[:port]/path?query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Authorization", "Bearer x"}
  std::optional<std::chrono::milliseconds> timeout;          // overrides options.timeout
};

// Deadlines of a streamed exchange, phase by phase; each read is also bounded by `deadline`.
// A timeout fails with DeadlineExceeded naming the phase.
struct StreamOptions {
  std::chrono::milliseconds connect_timeout{10'000};  // resolve and connect
  std::chrono::milliseconds header_timeout{60'000};   // request sent -> response headers read
  std::chrono::milliseconds idle_timeout{60'000};     // the longest silence within the body
  std::optional<std::chrono::steady_clock::time_point> deadline;  // the whole exchange
  AbortSignal* abort = nullptr;  // Abort() closes the connection: the call fails with Cancelled
};

struct StreamHandlers {
  // Once, with the status and headers; return false to stop without reading the body.
  std::function<bool(const ResponseHead&)> on_headers;
  // Each piece of the body as it arrives, transfer coding removed; return false to stop.
  std::function<bool(std::string_view)> on_body;
};

struct StreamSummary {
  unsigned status = 0;
  bool complete = false;  // the body was read to its end (false: a handler stopped it)
  uint64_t body_bytes = 0;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {}) : options_(std::move(options)) {}
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  [[nodiscard]] boost::asio::awaitable<Result<ClientResponse>> Send(ClientRequest request);
  [[nodiscard]] boost::asio::awaitable<Result<ClientResponse>> Get(std::string url);
  [[nodiscard]] boost::asio::awaitable<Result<ClientResponse>> PostJson(std::string url,
                                                                        std::string json);

  // Sends `request` (its `timeout` is not used: see StreamOptions) and streams the response to
  // `handlers`. A connection is only pooled again after a body read to its end. An HTTP error
  // status is not a failure: look at StreamSummary::status (or on_headers).
  [[nodiscard]] boost::asio::awaitable<Result<StreamSummary>> SendStreaming(
      ClientRequest request, StreamOptions options, StreamHandlers handlers);

  // Idle pooled connections (for tests).
  size_t idle_connections() const;

  struct Target {
    std::string host;
    std::string port;
    std::string target;  // origin-form: path and query
  };
  // Parses an http:// URL; exposed for tests.
  static Result<Target> ParseUrl(std::string_view url);

 private:
  using Stream = boost::beast::tcp_stream;

  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  Request BuildRequest(const Target& target, const ClientRequest& request) const;

  std::unique_ptr<Stream> TakeIdle(const std::string& key,
                                   const boost::asio::any_io_executor& executor);
  void PutIdle(const std::string& key, std::unique_ptr<Stream> stream);
  // One request/response on a connected stream. `*retryable` is set when the failure happened
  // before any response byte arrived; `*keep_alive` when the connection may be reused.
  boost::asio::awaitable<Result<ClientResponse>> Exchange(Stream& stream, const Target& target,
                                                          const ClientRequest& request,
                                                          bool* retryable, bool* keep_alive);
  // The streaming counterpart of Exchange (http_client_streaming.cc).
  boost::asio::awaitable<Result<StreamSummary>> StreamExchange(
      Stream& stream, const Target& target, const ClientRequest& request,
      const StreamOptions& options, StreamHandlers& handlers, bool* retryable, bool* keep_alive);

  HttpClientOptions options_;
  mutable std::mutex mu_;                          // guards idle_
  // host:port -> idle keep-alive connections
  std::map<std::string, std::vector<std::unique_ptr<Stream>>> idle_;
};

}  // namespace inferline::http
