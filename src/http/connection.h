// Connection: one accepted client socket and the coroutine that serves it (internal to http/).
//
// Run() loops: wait for a request (idle timeout), read headers (header timeout, header limit),
// read the body (body timeout, body limit), route and run the handler, write the response,
// repeat while keep-alive allows. Reads, writes and the handler all run on the connection's event
// loop, which has a single thread.
//
// Interrupt() emits a cancellation on the coroutine's slot: whatever the *handler* is waiting on
// (an AsyncSignal, a timer) ends with operation_aborted. The connection's own socket I/O is bound
// to an empty cancellation slot so that an interrupt never cuts a response or an event in half;
// ForceClose() is what stops socket I/O.
//
// Thread-safety: BeginShutdown() and ForceClose() may be called from any thread (they post to the
// connection's loop). Everything else runs on that loop only.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/http_metrics.h"
#include "http/http_server.h"
#include "http/router.h"

namespace inferline::http {

class Connection;
class RequestContext;

// What a connection needs from its server; owned by the server, outlives every connection.
struct ConnectionEnv {
  const HttpServerOptions& options;
  const Router& router;
  HttpMetrics& metrics;
  const std::atomic<bool>& stopping;
  std::function<void(Connection*)> on_closed;  // called on the loop as Run() ends
};

// A completion token for socket I/O: results as a tuple, deaf to Interrupt().
inline auto IoToken() {
  return boost::asio::bind_cancellation_slot(
      boost::asio::cancellation_slot(), boost::asio::as_tuple(boost::asio::use_awaitable));
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(boost::asio::ip::tcp::socket socket, ConnectionEnv& env);

  boost::asio::awaitable<void> Run();
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }
  boost::asio::cancellation_slot cancellation_slot() { return cancel_.slot(); }

  // Any thread. Closes the connection if idle; interrupts the handler if it asked for it.
  void BeginShutdown();
  // Any thread. Shuts the socket down and interrupts the handler.
  void ForceClose();

  // Loop only, for RequestContext and SseWriter.
  boost::beast::tcp_stream& stream() { return stream_; }
  const ConnectionEnv& env() const { return env_; }
  const std::string& remote_ip() const { return remote_ip_; }
  void Interrupt();
  void SetInterruptible();
  // Watches the socket while a stream is being written; a peer that closes or resets it
  // interrupts the handler and makes peer_gone() true.
  void WatchForPeerClose();
  bool peer_gone() const { return peer_gone_; }
  bool closing() const { return closing_; }

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  boost::asio::awaitable<bool> WaitForRequest(bool first);
  boost::asio::awaitable<bool> ServeOne();  // true: keep the connection
  // Feeds what buffer_ holds to `parser` (header, and body when it is all there); an error
  // only for a malformed request or one over a limit.
  boost::system::error_code ParseBuffered(
      boost::beast::http::request_parser<boost::beast::http::string_body>& parser);
  boost::asio::awaitable<bool> Dispatch(Request request, Clock::time_point start);
  boost::asio::awaitable<void> Invoke(RequestContext& ctx, const RouteMatch& match);
  boost::asio::awaitable<bool> Reject(boost::system::error_code ec, const Request* partial,
                                      Clock::time_point start);
  // Writes `res` (headers only if `head_only`); returns false if the write failed.
  boost::asio::awaitable<bool> Write(Response& res, bool head_only, bool keep_alive);
  boost::asio::awaitable<void> FinishStream(RequestContext& ctx);
  boost::asio::awaitable<void> LingeringClose();
  void OnPeerReadable(boost::system::error_code ec);
  void Record(std::string_view request_id, std::string_view method, std::string_view target,
              std::string_view route, unsigned code, size_t bytes, Clock::time_point start,
              std::string_view log_note = {});

  ConnectionEnv& env_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::cancellation_signal cancel_;
  std::string remote_ip_;
  bool idle_ = true;            // waiting for the next request
  bool interruptible_ = false;  // the handler asked to be interrupted at shutdown
  bool closing_ = false;        // ForceClose() ran
  bool peer_gone_ = false;
  char peek_byte_ = 0;  // WatchForPeerClose's peeking receive
  bool linger_ = false;         // unread request bytes may remain: drain before closing
};

}  // namespace inferline::http
