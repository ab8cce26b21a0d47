#include "http/http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

namespace inferline::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);

Status FromError(error_code ec, const ClientRequest& request, std::string_view during) {
  if (ec == beast::error::timeout) {
    return DeadlineExceeded(fmt::format("{} {}: timed out during {}",
                                        beast_http::to_string(request.method), request.url,
                                        during));
  }
  if (ec == beast_http::error::body_limit) {
    return ResourceExhausted(fmt::format("{} {}: response body too large",
                                         beast_http::to_string(request.method), request.url));
  }
  return Unavailable(fmt::format("{} {}: {} failed: {}", beast_http::to_string(request.method),
                                 request.url, during, ec.message()));
}

}  // namespace

Result<HttpClient::Target> HttpClient::ParseUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return InvalidArgument(fmt::format("invalid URL \"{}\"", url), "url");
  boost::urls::url_view u = *parsed;
  if (u.scheme_id() == boost::urls::scheme::https) {
    return Unimplemented(fmt::format("HTTPS is not supported yet: \"{}\"", url));
  }
  if (u.scheme_id() != boost::urls::scheme::http) {
    return InvalidArgument(fmt::format("URL \"{}\" is not http://", url), "url");
  }
  Target target;
  target.host = u.host_address();
  if (target.host.empty()) return InvalidArgument(fmt::format("URL \"{}\" has no host", url), "url");
  target.port = u.has_port() ? std::string(u.port()) : "80";
  target.target = u.encoded_target();
  if (target.target.empty() || target.target.front() != '/') target.target.insert(0, "/");
  return target;
}

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, streams] : idle_) n += streams.size();
  return n;
}

std::unique_ptr<HttpClient::Stream> HttpClient::TakeIdle(const std::string& key,
                                                         const asio::any_io_executor& executor) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& streams = it->second;
  // A stream's timer runs on its executor, so it is only reused from that same executor.
  for (auto s = streams.begin(); s != streams.end(); ++s) {
    if ((*s)->get_executor() == executor) {
      std::unique_ptr<Stream> out = std::move(*s);
      streams.erase(s);
      return out;
    }
  }
  return nullptr;
}

void HttpClient::PutIdle(const std::string& key, std::unique_ptr<Stream> stream) {
  std::lock_guard lock(mu_);
  auto& streams = idle_[key];
  if (streams.size() < options_.max_idle_per_host) streams.push_back(std::move(stream));
}

asio::awaitable<Result<ClientResponse>> HttpClient::Get(std::string url) {
  ClientRequest request;
  request.url = std::move(url);
  co_return co_await Send(std::move(request));
}

asio::awaitable<Result<ClientResponse>> HttpClient::PostJson(std::string url, std::string json) {
  ClientRequest request;
  request.method = beast_http::verb::post;
  request.url = std::move(url);
  request.body = std::move(json);
  request.headers.emplace_back("Content-Type", "application/json");
  co_return co_await Send(std::move(request));
}

asio::awaitable<Result<ClientResponse>> HttpClient::Send(ClientRequest request) {
  Result<Target> target = ParseUrl(request.url);
  if (!target.ok()) co_return target.status();
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  std::chrono::milliseconds timeout = request.timeout.value_or(options_.timeout);
  std::string key = target->host + ":" + target->port;

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Stream> stream = attempt == 0 ? TakeIdle(key, executor) : nullptr;
    bool reused = stream != nullptr;
    if (!reused) {
      tcp::resolver resolver(executor);
      auto [rec, endpoints] = co_await resolver.async_resolve(target->host, target->port, kToken);
      if (rec) co_return FromError(rec, request, "resolve");
      stream = std::make_unique<Stream>(executor);
      stream->expires_after(timeout);
      auto [cec, endpoint] = co_await stream->async_connect(endpoints, kToken);
      if (cec) co_return FromError(cec, request, "connect");
    }
    stream->expires_after(timeout);
    bool retryable = false;
    bool keep_alive = false;
    Result<ClientResponse> result =
        co_await Exchange(*stream, *target, request, &retryable, &keep_alive);
    if (!result.ok() && reused && retryable) continue;  // the server closed the idle connection
    if (result.ok() && keep_alive) {
      stream->expires_never();
      PutIdle(key, std::move(stream));
    }
    co_return result;
  }
}

HttpClient::Request HttpClient::BuildRequest(const Target& target,
                                             const ClientRequest& request) const {
  Request req(request.method, target.target, 11);
  req.set(beast_http::field::host,
          target.port == "80" ? target.host : target.host + ":" + target.port);
  req.set(beast_http::field::user_agent, options_.user_agent);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();
  return req;
}

asio::awaitable<Result<ClientResponse>> HttpClient::Exchange(Stream& stream, const Target& target,
                                                             const ClientRequest& request,
                                                             bool* retryable, bool* keep_alive) {
  Request req = BuildRequest(target, request);
  auto [wec, written] = co_await beast_http::async_write(stream, req, kToken);
  if (wec) {
    *retryable = wec != beast::error::timeout;
    co_return FromError(wec, request, "write");
  }

  beast::flat_buffer buffer;
  beast_http::response_parser<beast_http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  if (request.method == beast_http::verb::head) parser.skip(true);
  auto [rec, read] = co_await beast_http::async_read(stream, buffer, parser, kToken);
  if (rec) {
    *retryable = !parser.got_some() && buffer.size() == 0 && rec != beast::error::timeout;
    co_return FromError(rec, request, "read");
  }
  *keep_alive = parser.get().keep_alive() && !parser.need_eof();
  co_return parser.release();
}

}  // namespace inferline::http
