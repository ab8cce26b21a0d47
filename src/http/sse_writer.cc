#include "http/sse_writer.h"

#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <array>

#include "http/connection.h"
#include "http/http_date.h"

namespace inferline::http {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

namespace {

// Appends `text` with CR and LF replaced by spaces (for single-line fields).
void AppendOneLine(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
}

// Appends one "<prefix><line>\n" per line of `text`; CRLF, LF and CR all end a line, as the
// event-stream format defines. Empty text still yields one (empty) line.
void AppendLines(std::string& out, std::string_view prefix, std::string_view text) {
  size_t begin = 0;
  while (true) {
    size_t end = text.find_first_of("\r\n", begin);
    out += prefix;
    out += text.substr(begin, end == std::string_view::npos ? end : end - begin);
    out += '\n';
    if (end == std::string_view::npos) break;
    begin = end + 1;
    if (text[end] == '\r' && begin < text.size() && text[begin] == '\n') ++begin;
    if (begin == text.size()) break;  // a trailing line break does not start a new line
  }
}

}  // namespace

std::string SseWriter::Format(std::string_view event, std::string_view id, std::string_view data,
                              std::optional<std::chrono::milliseconds> retry) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 32);
  if (!event.empty()) {
    out += "event: ";
    AppendOneLine(out, event);
    out += '\n';
  }
  if (!id.empty()) {
    out += "id: ";
    AppendOneLine(out, id);
    out += '\n';
  }
  if (retry) out += fmt::format("retry: {}\n", retry->count());
  AppendLines(out, "data: ", data);
  out += '\n';
  return out;
}

std::string SseWriter::FormatComment(std::string_view text) {
  std::string out;
  AppendLines(out, ": ", text);
  out += '\n';
  return out;
}

bool SseWriter::ok() const {
  Connection& conn = ctx_.connection();
  return started_ && !failed_ && !conn.peer_gone() && !conn.closing();
}

asio::awaitable<bool> SseWriter::Start() {
  if (started_) co_return ok();
  started_ = true;
  Connection& conn = ctx_.connection();
  Response& res = ctx_.response();
  if (res.result() == beast_http::status::no_content) res.result(beast_http::status::ok);
  res.set(beast_http::field::content_type, "text/event-stream");
  res.set(beast_http::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  res.set(beast_http::field::date, HttpDate());
  res.erase(beast_http::field::content_length);
  res.body().clear();
  chunked_ = res.version() >= 11;
  if (chunked_) {
    res.chunked(true);
  } else {
    res.keep_alive(false);  // HTTP/1.0: the end of the body is the end of the connection
  }
  ctx_.MarkStreaming();
  conn.env().metrics.sse_connections.Inc();

  beast_http::response_serializer<beast_http::string_body> serializer(res);
  conn.stream().expires_after(conn.env().options.write_timeout);
  auto [ec, n] = co_await beast_http::async_write_header(conn.stream(), serializer, IoToken());
  if (ec) {
    failed_ = true;
    co_return false;
  }
  ctx_.InterruptOnShutdown();
  conn.WatchForPeerClose();
  co_return ok();
}

asio::awaitable<bool> SseWriter::Send(std::string_view event, std::string_view id,
                                      std::string_view data,
                                      std::optional<std::chrono::milliseconds> retry) {
  co_return co_await WriteFrame(Format(event, id, data, retry));
}

asio::awaitable<bool> SseWriter::Comment(std::string_view text) {
  co_return co_await WriteFrame(FormatComment(text));
}

asio::awaitable<bool> SseWriter::WriteFrame(std::string_view payload) {
  if (!ok()) co_return false;
  Connection& conn = ctx_.connection();
  conn.stream().expires_after(conn.env().options.write_timeout);
  boost::system::error_code ec;
  if (chunked_) {
    frame_ = fmt::format("{:x}\r\n", payload.size());
    std::array<asio::const_buffer, 3> buffers = {asio::buffer(frame_), asio::buffer(payload),
                                                 asio::buffer("\r\n", 2)};
    std::tie(ec, std::ignore) = co_await asio::async_write(conn.stream(), buffers, IoToken());
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(conn.stream(), asio::buffer(payload), IoToken());
  }
  if (ec) failed_ = true;
  ctx_.streamed_bytes() += payload.size();
  co_return ok();
}

}  // namespace inferline::http

