#include "http/request_context.h"

#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include "common/json_value.h"
#include "http/connection.h"
#include "http/http_error.h"

namespace inferline::http {

namespace beast_http = boost::beast::http;

RequestContext::RequestContext(Connection& connection, Request request, std::string request_id)
    : connection_(connection), request_(std::move(request)), request_id_(std::move(request_id)) {
  response_.version(request_.version());
  response_.result(beast_http::status::no_content);
  response_.set("x-request-id", request_id_);
}

std::string_view RequestContext::header(std::string_view name) const {
  auto it = request_.find(name);
  return it == request_.end() ? std::string_view() : std::string_view(it->value());
}

std::string_view RequestContext::path() const {
  std::string_view path = url_.encoded_path();
  return path.empty() ? std::string_view("/") : path;
}

std::optional<std::string> RequestContext::query(std::string_view name) const {
  auto params = url_.params();
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return (*it).value;
}

const std::string& RequestContext::remote_ip() const { return connection_.remote_ip(); }

boost::asio::any_io_executor RequestContext::executor() const {
  return connection_.executor();
}

bool RequestContext::stopping() const {
  return connection_.env().stopping.load(std::memory_order_relaxed) ||
         connection_.peer_gone() || connection_.closing();
}

void RequestContext::InterruptOnShutdown() { connection_.SetInterruptible(); }

bool RequestContext::ParseTarget() {
  auto parsed = boost::urls::parse_origin_form(request_.target());
  if (!parsed) return false;
  url_ = *parsed;
  segments_.clear();
  for (auto segment : url_.segments()) segments_.push_back(std::string(segment));
  return true;
}

void RequestContext::SetRoute(std::string_view pattern, PathParams params) {
  route_ = pattern;
  params_ = std::move(params);
}

void RequestContext::Json(beast_http::status status, const boost::json::value& body) {
  response_.result(status);
  response_.set(beast_http::field::content_type, "application/json");
  response_.body() = SerializeJson(body);
}

void RequestContext::Text(beast_http::status status, std::string body,
                          std::string_view content_type) {
  response_.result(status);
  response_.set(beast_http::field::content_type, content_type);
  response_.body() = std::move(body);
}

void RequestContext::Error(const Status& status, std::string_view type, std::string_view code) {
  Json(HttpStatusFor(status.code()), ErrorBody(status, type, code));
}

void RequestContext::Error(beast_http::status http_status, std::string_view message,
                           std::string_view type, std::string_view code) {
  Json(http_status, ErrorBody(message, type, code));
}

void RequestContext::AnnotateLog(std::string_view key, std::string_view value) {
  log_note_ += ' ';
  log_note_ += key;
  log_note_ += '=';
  log_note_ += value;
}

void RequestContext::SetHeader(std::string_view name, std::string_view value) {
  response_.set(name, value);
}

}  // namespace inferline::http
