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
// Missing: HTTPS ("https://" URLs fail with Unimplemented), streaming response bodies, proxies.
//
// Errors: InvalidArgument for a bad URL, Unavailable when the host cannot be reached or the
// exchange fails, DeadlineExceeded on timeout, ResourceExhausted for an oversized response.
// An HTTP error status is not a failure: check ClientResponse::result().
//
// Thread-safety: Send() may be called concurrently from several coroutines; the client must
// outlive them, and must be destroyed before the io_context its connections use.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace inferline::http {

using ClientResponse = boost::beast::http::response<boost::beast::http::string_body>;

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

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {}) : options_(std::move(options)) {}
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  [[nodiscard]] boost::asio::awaitable<Result<ClientResponse>> Send(ClientRequest request);
  [[nodiscard]] boost::asio::awaitable<Result<ClientResponse>> Get(std::string url);
  [[nodiscard]] boost::asio::awaitable<Result<ClientResponse>> PostJson(std::string url,
                                                                        std::string json);

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

  std::unique_ptr<Stream> TakeIdle(const std::string& key,
                                   const boost::asio::any_io_executor& executor);
  void PutIdle(const std::string& key, std::unique_ptr<Stream> stream);
  // One request/response on a connected stream. `*retryable` is set when the failure happened
  // before any response byte arrived; `*keep_alive` when the connection may be reused.
  boost::asio::awaitable<Result<ClientResponse>> Exchange(Stream& stream, const Target& target,
                                                          const ClientRequest& request,
                                                          bool* retryable, bool* keep_alive);

  HttpClientOptions options_;
  mutable std::mutex mu_;                          // guards idle_
  // host:port -> idle keep-alive connections
  std::map<std::string, std::vector<std::unique_ptr<Stream>>> idle_;
};

}  // namespace inferline::http
