// SseWriter: writes a text/event-stream response (server-sent events) on a request's connection.
//
//   SseWriter sse(ctx);
//   if (!co_await sse.Start()) co_return;                     // client already gone
//   co_await sse.Send("token", "7", R"({"text":"hi"})");      // event: token / id: 7 / data: ...
//   co_await sse.SendData(R"({"choices":[...]})");            // OpenAI style: data only
//   co_await sse.SendData("[DONE]");
//
// Start() sends the response head (the status and extra headers already set on ctx, plus
// Content-Type: text/event-stream, Cache-Control: no-cache, X-Accel-Buffering: no), with a
// chunked body for HTTP/1.1 clients and a connection-close body for HTTP/1.0 ones; there is no
// Content-Length. Multi-line data becomes one `data:` line per line. After Start() the server
// no longer writes ctx's response; when the handler returns it ends the body and closes the
// connection.
//
// Every call returns false once the client is gone (a write failed, or the client closed or reset
// the connection, which is noticed even while the handler is waiting: Start() arms a watcher that
// interrupts the handler's pending wait) or the server is force-closing; the handler should then
// return. Start() also calls ctx.InterruptOnShutdown(), so check ctx.stopping() after every wait.
//
// Thread-safety: use from the handler coroutine only; one write at a time.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "http/request_context.h"

namespace inferline::http {

class SseWriter {
 public:
  explicit SseWriter(RequestContext& ctx) : ctx_(ctx) {}
  SseWriter(const SseWriter&) = delete;
  SseWriter& operator=(const SseWriter&) = delete;

  [[nodiscard]] boost::asio::awaitable<bool> Start();

  // One event. Empty `event` / `id` are omitted; `retry` asks the client to wait that long
  // before reconnecting. Line breaks in `event` and `id` (which would corrupt the stream) are
  // replaced with spaces.
  [[nodiscard]] boost::asio::awaitable<bool> Send(
      std::string_view event, std::string_view id, std::string_view data,
      std::optional<std::chrono::milliseconds> retry = std::nullopt);
  [[nodiscard]] boost::asio::awaitable<bool> SendData(std::string_view data) {
    return Send({}, {}, data);
  }
  // A comment line (": keep-alive"): ignored by clients, keeps proxies from timing out.
  [[nodiscard]] boost::asio::awaitable<bool> Comment(std::string_view text);

  // False once the client went away or a write failed.
  bool ok() const;

  // The wire form of one event (without chunk framing); exposed for tests.
  static std::string Format(std::string_view event, std::string_view id, std::string_view data,
                            std::optional<std::chrono::milliseconds> retry);
  static std::string FormatComment(std::string_view text);

 private:
  boost::asio::awaitable<bool> WriteFrame(std::string_view payload);

  RequestContext& ctx_;
  bool started_ = false;
  bool failed_ = false;
  bool chunked_ = false;
  std::string frame_;  // reused between writes
};

}  // namespace inferline::http
