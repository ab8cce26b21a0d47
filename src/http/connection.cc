#include "http/connection.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <cerrno>

#include "common/json_value.h"
#include "common/log.h"
#include "http/http_date.h"
#include "http/http_error.h"
#include "http/request_context.h"
#include "http/request_id.h"

namespace inferline::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr size_t kFirstReadBytes = 4096;
constexpr size_t kMaxIdleBufferBytes = 64 * 1024;

std::string RequestIdFrom(const Request& req) {
  auto it = req.find("x-request-id");
  if (it != req.end() && IsSaneRequestId(it->value())) return std::string(it->value());
  return NewRequestId();
}

}  // namespace

Connection::Connection(asio::ip::tcp::socket socket, ConnectionEnv& env)
    : env_(env), stream_(std::move(socket)) {
  error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ip_ = endpoint.address().to_string();
}

void Connection::BeginShutdown() {
  asio::post(executor(), [self = shared_from_this()] {
    if (self->idle_) {
      self->stream_.cancel();
    } else if (self->interruptible_) {
      self->Interrupt();
    }
  });
}

void Connection::ForceClose() {
  asio::post(executor(), [self = shared_from_this()] {
    self->closing_ = true;
    error_code ec;
    self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    self->stream_.cancel();
    self->Interrupt();
  });
}

void Connection::Interrupt() { cancel_.emit(asio::cancellation_type::terminal); }

void Connection::SetInterruptible() {
  interruptible_ = true;
  if (env_.stopping.load()) Interrupt();
}

void Connection::WatchForPeerClose() {
  // A peeking receive stays pending until the peer sends something or goes away. (An
  // async_wait(wait_read) with a peek in its handler was seen completing, with nothing to
  // read, about 40 times per sync request here: a busy loop beside the engine.)
  stream_.socket().async_receive(asio::buffer(&peek_byte_, 1), asio::socket_base::message_peek,
                                 [self = shared_from_this()](error_code ec, size_t) {
                                   self->OnPeerReadable(ec);
                                 });
}

void Connection::OnPeerReadable(error_code ec) {
  // Data (left unread for the next request) says nothing; a cancel means the connection is
  // ending anyway. End of stream or a reset: the client is gone.
  if (!ec || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) return;
  peer_gone_ = true;
  Interrupt();
}

asio::awaitable<void> Connection::Run() {
  auto self = shared_from_this();
  // Interrupt() must only end the wait in progress, never make every later co_await throw.
  co_await asio::this_coro::throw_if_cancelled(false);
  bool first = true;
  while (!closing_ && co_await WaitForRequest(first)) {
    first = false;
    if (!co_await ServeOne()) break;
  }
  if (linger_ && !closing_) co_await LingeringClose();
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
  env_.on_closed(this);
}

asio::awaitable<bool> Connection::WaitForRequest(bool first) {
  if (buffer_.size() > 0) co_return true;  // a pipelined request is already buffered
  if (env_.stopping.load()) co_return false;
  // One large request must not pin its buffer for the rest of a keep-alive connection.
  if (buffer_.capacity() > kMaxIdleBufferBytes) buffer_.shrink_to_fit();
  idle_ = true;
  stream_.expires_after(first ? env_.options.header_timeout : env_.options.idle_timeout);
  auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kFirstReadBytes), IoToken());
  idle_ = false;
  if (ec) co_return false;  // closed by the client, idle timeout, or shutdown
  buffer_.commit(n);
  co_return true;
}

asio::awaitable<bool> Connection::ServeOne() {
  Clock::time_point start = Clock::now();
  beast_http::request_parser<beast_http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(env_.options.max_header_bytes));
  parser.body_limit(env_.options.max_body_bytes);

  // Usually the whole request came in the read that woke this connection: parse it here.
  // Beast's asynchronous reads post their completion even when the buffer holds everything,
  // a trip through the event loop each for the header and for the body.
  if (error_code pec = ParseBuffered(parser)) {
    co_return co_await Reject(pec, parser.is_header_done() ? &parser.get() : nullptr, start);
  }
  if (!parser.is_header_done()) {
    stream_.expires_after(env_.options.header_timeout);
    auto [ec, n] = co_await beast_http::async_read_header(stream_, buffer_, parser, IoToken());
    if (ec) co_return co_await Reject(ec, nullptr, start);
  }

  if (!parser.is_done()) {
    auto expect = parser.get().find(beast_http::field::expect);
    if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(env_.options.write_timeout);
      auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(kContinue), IoToken());
      if (wec) co_return false;
    }
    stream_.expires_after(env_.options.body_timeout);
    auto [bec, bn] = co_await beast_http::async_read(stream_, buffer_, parser, IoToken());
    if (bec) co_return co_await Reject(bec, &parser.get(), start);
  }
  co_return co_await Dispatch(parser.release(), start);
}

error_code Connection::ParseBuffered(beast_http::request_parser<beast_http::string_body>& parser) {
  parser.eager(true);  // on into the body when it is there too
  while (buffer_.size() > 0 && !parser.is_done()) {
    error_code ec;
    const size_t used = parser.put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == beast_http::error::need_more) return {};  // the rest comes by reading
    if (ec) return ec;
    if (used == 0) return {};
  }
  return {};
}

asio::awaitable<bool> Connection::Reject(error_code ec, const Request* partial,
                                         Clock::time_point start) {
  beast_http::status status;
  std::string_view reason;
  std::string_view message;
  if (ec == beast_http::error::header_limit) {
    status = beast_http::status::request_header_fields_too_large;
    reason = "header_too_large";
    message = "request headers exceed the server's limit";
  } else if (ec == beast_http::error::body_limit) {
    status = beast_http::status::payload_too_large;
    reason = "body_too_large";
    message = "request body exceeds the server's limit";
  } else if (ec == beast::error::timeout) {
    status = beast_http::status::request_timeout;
    reason = "timeout";
    message = "request not received in time";
  } else if (ec.category() == beast_http::make_error_code(beast_http::error::bad_method).category() &&
             ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message) {
    status = beast_http::status::bad_request;
    reason = "bad_request";
    message = "malformed HTTP request";
  } else {
    co_return false;  // the client closed or reset the connection: nobody to answer
  }
  env_.metrics.rejected_total.With({reason}).Inc();
  std::string request_id = partial ? RequestIdFrom(*partial) : NewRequestId();
  Response res;
  res.version(11);
  res.result(status);
  res.set("x-request-id", request_id);
  res.set(beast_http::field::content_type, "application/json");
  res.body() = SerializeJson(ErrorBody(message, "invalid_request_error", reason));
  if (status == beast_http::status::request_timeout) {
    // tcp_stream has already closed the socket (as nginx does, the 408 is only logged).
    res.body().clear();
  } else {
    linger_ = true;
    co_await Write(res, false, false);
  }
  std::string_view method = partial ? std::string_view(partial->method_string()) : "-";
  std::string_view target = partial ? std::string_view(partial->target()) : "-";
  Record(request_id, method, target, kUnmatchedRoute, res.result_int(), res.body().size(), start);
  co_return false;
}

asio::awaitable<bool> Connection::Dispatch(Request request, Clock::time_point start) {
  std::string request_id = RequestIdFrom(request);
  RequestContext ctx(*this, std::move(request), std::move(request_id));
  bool head_only = ctx.method() == beast_http::verb::head;
  bool keep_alive = ctx.request().keep_alive();
  if (!ctx.ParseTarget()) {
    ctx.Error(InvalidArgument("malformed request target"));
  } else {
    RouteMatch match = env_.router.Match(ctx.method(), ctx.segments());
    ctx.SetRoute(match.pattern, std::move(match.params));
    co_await Invoke(ctx, match);
  }

  size_t bytes = 0;
  bool ok = true;
  if (ctx.streaming()) {
    co_await FinishStream(ctx);
    bytes = ctx.streamed_bytes();
    keep_alive = false;
  } else {
    keep_alive = keep_alive && !env_.stopping.load() && !closing_;
    ok = co_await Write(ctx.response(), head_only, keep_alive);
    bytes = ctx.response().body().size();
  }
  interruptible_ = false;
  Record(ctx.request_id(), ctx.request().method_string(), ctx.request().target(), ctx.route(),
         ctx.response().result_int(), bytes, start, ctx.log_note());
  co_return ok && keep_alive;
}

asio::awaitable<void> Connection::Invoke(RequestContext& ctx, const RouteMatch& match) {
  try {
    switch (match.kind) {
      case RouteMatch::Kind::kFound:
        co_await (*match.handler)(ctx);
        break;
      case RouteMatch::Kind::kOptions:
        ctx.SetHeader("Allow", match.allow);
        if (env_.router.options_hook()) co_await env_.router.options_hook()(ctx, match.allow);
        break;
      case RouteMatch::Kind::kMethodNotAllowed:
        ctx.Error(beast_http::status::method_not_allowed,
                  fmt::format("method {} is not allowed on {}", ctx.request().method_string(),
                              match.pattern),
                  "invalid_request_error", "method_not_allowed");
        ctx.SetHeader("Allow", match.allow);
        break;
      case RouteMatch::Kind::kNotFound:
        ctx.Error(NotFound(fmt::format("Invalid URL ({} {})", ctx.request().method_string(),
                                       ctx.path())),
                  "invalid_request_error", "unknown_url");
        break;
    }
  } catch (const std::exception& e) {
    // A handler using plain use_awaitable sees an interrupt as an exception; when the client is
    // gone or the server is force-closing, that is expected, not a bug.
    if (closing_ || peer_gone_) {
      log::DebugFor(ctx.request_id(), "http handler for {} {} ended by an interrupt: {}",
                    ctx.request().method_string(), ctx.route(), e.what());
    } else {
      log::ErrorFor(ctx.request_id(), "http handler for {} {} threw: {}",
                    ctx.request().method_string(), ctx.route(), e.what());
    }
    ctx.response().clear();
    ctx.SetHeader("x-request-id", ctx.request_id());
    ctx.Error(Internal("internal server error"));
  } catch (...) {
    log::ErrorFor(ctx.request_id(), "http handler for {} {} threw a non-exception",
                  ctx.request().method_string(), ctx.route());
    ctx.response().clear();
    ctx.SetHeader("x-request-id", ctx.request_id());
    ctx.Error(Internal("internal server error"));
  }
}

asio::awaitable<bool> Connection::Write(Response& res, bool head_only, bool keep_alive) {
  res.set(beast_http::field::date, HttpDate());
  res.keep_alive(keep_alive);
  res.prepare_payload();
  beast_http::response_serializer<beast_http::string_body> serializer(res);
  if (head_only) serializer.split(true);
  // An answer usually fits in the socket's send buffer: send it right away, without arming
  // the write timer (two timerfd updates) or suspending. What does not fit goes out below.
  error_code sync_ec;
  if (head_only) {
    beast_http::write_header(stream_.socket(), serializer, sync_ec);
    if (!sync_ec && serializer.is_header_done()) co_return true;
  } else {
    beast_http::write(stream_.socket(), serializer, sync_ec);
    if (!sync_ec && serializer.is_done()) co_return true;
  }
  if (sync_ec && sync_ec != asio::error::would_block && sync_ec != asio::error::try_again) {
    co_return false;
  }
  stream_.expires_after(env_.options.write_timeout);
  if (head_only) {
    auto [ec, n] = co_await beast_http::async_write_header(stream_, serializer, IoToken());
    co_return !ec;
  }
  auto [ec, n] = co_await beast_http::async_write(stream_, serializer, IoToken());
  co_return !ec;
}

asio::awaitable<void> Connection::FinishStream(RequestContext& ctx) {
  // A chunked stream ends with the last chunk, so the client sees a clean end of body.
  if (ctx.response().chunked() && !peer_gone_ && !closing_) {
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    stream_.expires_after(env_.options.write_timeout);
    co_await asio::async_write(stream_, asio::buffer(kLastChunk), IoToken());
  }
  env_.metrics.sse_connections.Dec();
}

asio::awaitable<void> Connection::LingeringClose() {
  // Closing a socket with unread input makes the kernel send RST, which can destroy the error
  // response before the client reads it. Half-close, then drain briefly.
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(2);
  char scratch[16 * 1024];
  while (Clock::now() < deadline) {
    stream_.expires_after(std::chrono::milliseconds(500));
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(scratch), IoToken());
    if (rec) break;
  }
}

void Connection::Record(std::string_view request_id, std::string_view method,
                        std::string_view target, std::string_view route, unsigned code,
                        size_t bytes, Clock::time_point start, std::string_view log_note) {
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  env_.metrics.RecordRequest(route, code, seconds);
  if (env_.options.access_log) {
    log::InfoFor(request_id, "http {} {} route={} status={} bytes={} duration_ms={:.3f} remote={}{}",
                 method, target, route, code, bytes, seconds * 1e3, remote_ip_, log_note);
  }
}

}  // namespace inferline::http
