// RequestContext: everything a handler sees of one request, and the response it builds.
//
// A handler reads the parsed request, path and query parameters, the client's address and the
// request id, then either fills in the response (Json, Text, Error, SetHeader) and returns, or
// takes over the connection with an SseWriter (see sse_writer.h) for an event stream. The server
// writes the response after the handler returns, adding Content-Length, Date, keep-alive and the
// x-request-id header. A handler that sets nothing answers 204.
//
// Long-running handlers (event streams, long polls) should check stopping() whenever they wake
// up, and may call InterruptOnShutdown() so that a pending wait (AsyncSignal, timer) is cancelled
// as soon as the server begins shutting down or the client goes away.
//
// Thread-safety: owned by the connection's coroutine; use it only from the handler coroutine
// (executor() is the connection's single-threaded event loop).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <boost/url/url_view.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/router.h"

namespace inferline::http {

class Connection;

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class RequestContext {
 public:
  // Built by the connection; `request_id` is the sanitised X-Request-Id or a fresh one.
  RequestContext(Connection& connection, Request request, std::string request_id);
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  // --- The request.
  const Request& request() const { return request_; }
  boost::beast::http::verb method() const { return request_.method(); }
  const std::string& body() const { return request_.body(); }
  // A request header, or "" if absent.
  std::string_view header(std::string_view name) const;
  // The path of the target, still percent-encoded ("/v1/requests/abc").
  std::string_view path() const;
  // The route pattern that matched ("/v1/requests/{id}"), or "unmatched".
  std::string_view route() const { return route_; }
  // The decoded value of a `{name}` path segment, or "".
  std::string_view param(std::string_view name) const { return params_.Get(name); }
  const PathParams& params() const { return params_; }
  // The first decoded value of query parameter `name` ("" for "?flag"), or nullopt.
  std::optional<std::string> query(std::string_view name) const;

  const std::string& remote_ip() const;
  const std::string& request_id() const { return request_id_; }
  boost::asio::any_io_executor executor() const;

  // True once the server is shutting down or the client has gone away: finish up.
  bool stopping() const;
  // Cancel this handler's pending wait when stopping() becomes true (see the file comment).
  void InterruptOnShutdown();

  // --- The response.
  void Json(boost::beast::http::status status, const boost::json::value& body);
  void Text(boost::beast::http::status status, std::string body,
            std::string_view content_type = "text/plain; charset=utf-8");
  // An OpenAI-style error; the HTTP status follows from status.code() (see http_error.h).
  void Error(const Status& status, std::string_view type = {}, std::string_view code = {});
  // An error whose HTTP status has no StatusCode (405, 413, 431, ...).
  void Error(boost::beast::http::status http_status, std::string_view message,
             std::string_view type, std::string_view code);
  // Appends "key=value" to this request's access log line (e.g. the generation id the request
  // created, so that the line joins the generation's own log lines).
  void AnnotateLog(std::string_view key, std::string_view value);
  const std::string& log_note() const { return log_note_; }
  // Adds or replaces a response header (Retry-After, x-ratelimit-*, ...).
  void SetHeader(std::string_view name, std::string_view value);
  Response& response() { return response_; }

  // --- For the connection and SseWriter.
  // Parses the target; false if it is not a valid origin-form target.
  bool ParseTarget();
  const std::vector<std::string>& segments() const { return segments_; }
  void SetRoute(std::string_view pattern, PathParams params);
  Connection& connection() { return connection_; }
  bool streaming() const { return streaming_; }
  void MarkStreaming() { streaming_ = true; }
  size_t& streamed_bytes() { return streamed_bytes_; }

 private:
  Connection& connection_;
  Request request_;
  std::string request_id_;
  boost::urls::url_view url_;  // views request_.target(); valid after ParseTarget()
  std::vector<std::string> segments_;
  std::string_view route_ = kUnmatchedRoute;
  PathParams params_;
  Response response_;
  bool streaming_ = false;
  size_t streamed_bytes_ = 0;
  std::string log_note_;
};

}  // namespace inferline::http
