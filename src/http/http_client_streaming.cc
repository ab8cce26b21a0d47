// HttpClient::SendStreaming: a request whose response body is handed over piece by piece as it
// arrives (see http_client.h). Each read is bounded by its phase's timeout and the overall
// deadline; an AbortSignal closes the connection from any thread.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "http/http_client.h"

namespace inferline::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadBufferBytes = 16 * 1024;

// Where one phase must end: `timeout` from now, or the overall deadline if that comes first.
SteadyClock::time_point PhaseEnd(std::chrono::milliseconds timeout, const StreamOptions& options) {
  SteadyClock::time_point end = SteadyClock::now() + timeout;
  return options.deadline ? std::min(end, *options.deadline) : end;
}

Status StreamError(error_code ec, const ClientRequest& request, const StreamOptions& options,
                   std::string_view phase, std::chrono::milliseconds phase_timeout) {
  std::string what = fmt::format("{} {}", beast_http::to_string(request.method), request.url);
  if (options.abort != nullptr && options.abort->aborted()) {
    return Cancelled(fmt::format("{}: aborted during {}", what, phase));
  }
  if (ec == beast::error::timeout) {
    if (options.deadline && SteadyClock::now() >= *options.deadline) {
      return DeadlineExceeded(fmt::format("{}: the deadline passed during {}", what, phase));
    }
    return DeadlineExceeded(
        fmt::format("{}: {} took longer than {} ms", what, phase, phase_timeout.count()));
  }
  if (ec == beast_http::error::body_limit) {
    return ResourceExhausted(fmt::format("{}: response body too large", what));
  }
  return Unavailable(fmt::format("{}: {} failed: {}", what, phase, ec.message()));
}

}  // namespace

asio::awaitable<Result<StreamSummary>> HttpClient::SendStreaming(ClientRequest request,
                                                                 StreamOptions options,
                                                                 StreamHandlers handlers) {
  Result<Target> target = ParseUrl(request.url);
  if (!target.ok()) co_return target.status();
  if (options.abort != nullptr && options.abort->aborted()) {
    co_return Cancelled(fmt::format("{}: aborted before it was sent", request.url));
  }
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  std::string key = target->host + ":" + target->port;

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Stream> stream = attempt == 0 ? TakeIdle(key, executor) : nullptr;
    const bool reused = stream != nullptr;
    if (!reused) stream = std::make_unique<Stream>(executor);
    tcp::resolver resolver(executor);
    Result<StreamSummary> result = Cancelled("not sent");
    bool retryable = false;
    bool keep_alive = false;
    {
      // Closing the stream ends whatever read, write or connect is pending on it.
      AbortSignal::Attachment attached(options.abort, executor, [&resolver, s = stream.get()] {
        resolver.cancel();
        error_code ignored;
        s->socket().shutdown(tcp::socket::shutdown_both, ignored);
        s->close();
      });
      if (!reused) {
        auto [rec, endpoints] = co_await resolver.async_resolve(target->host, target->port, kToken);
        if (rec) {
          co_return StreamError(rec, request, options, "resolve", options.connect_timeout);
        }
        stream->expires_at(PhaseEnd(options.connect_timeout, options));
        auto [cec, endpoint] = co_await stream->async_connect(endpoints, kToken);
        if (cec) co_return StreamError(cec, request, options, "connect", options.connect_timeout);
      }
      result = co_await StreamExchange(*stream, *target, request, options, handlers, &retryable,
                                       &keep_alive);
    }
    // The server may have closed an idle pooled connection: try once more on a fresh one.
    if (!result.ok() && reused && retryable) continue;
    if (result.ok() && result->complete && keep_alive) {
      stream->expires_never();
      PutIdle(key, std::move(stream));
    }
    co_return result;
  }
}

asio::awaitable<Result<StreamSummary>> HttpClient::StreamExchange(
    Stream& stream, const Target& target, const ClientRequest& request,
    const StreamOptions& options, StreamHandlers& handlers, bool* retryable, bool* keep_alive) {
  Request req = BuildRequest(target, request);
  stream.expires_at(PhaseEnd(options.header_timeout, options));
  auto [wec, written] = co_await beast_http::async_write(stream, req, kToken);
  if (wec) {
    *retryable = wec != beast::error::timeout;
    co_return StreamError(wec, request, options, "sending the request", options.header_timeout);
  }

  beast::flat_buffer buffer;
  beast_http::response_parser<beast_http::buffer_body> parser;
  parser.body_limit(options_.max_response_bytes);
  if (request.method == beast_http::verb::head) parser.skip(true);
  auto [hec, head_bytes] = co_await beast_http::async_read_header(stream, buffer, parser, kToken);
  if (hec) {
    *retryable = !parser.got_some() && buffer.size() == 0 && hec != beast::error::timeout;
    co_return StreamError(hec, request, options, "waiting for the response headers",
                          options.header_timeout);
  }
  StreamSummary summary;
  summary.status = parser.get().result_int();
  if (handlers.on_headers && !handlers.on_headers(parser.get().base())) co_return summary;

  std::array<char, kReadBufferBytes> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    stream.expires_at(PhaseEnd(options.idle_timeout, options));
    // read_some returns after one read from the socket, so each piece is passed on at once.
    auto [ec, n] = co_await beast_http::async_read_some(stream, buffer, parser, kToken);
    if (ec == beast_http::error::need_buffer) ec = {};
    size_t got = chunk.size() - parser.get().body().size;
    if (got > 0) {
      summary.body_bytes += got;
      if (handlers.on_body && !handlers.on_body(std::string_view(chunk.data(), got))) {
        co_return summary;
      }
    }
    if (ec) {
      co_return StreamError(ec, request, options, "reading the response body",
                            options.idle_timeout);
    }
  }
  summary.complete = true;
  *keep_alive = parser.get().keep_alive() && !parser.need_eof();
  co_return summary;
}

}  // namespace inferline::http
