// RawClient: a blocking HTTP test client on a plain POSIX socket.
//
// Tests need to send bytes a well-behaved client never would (malformed request lines, 64 KB
// headers, a body trickled one byte at a time) and to watch exactly what comes back, including
// SSE framing and the moment the server closes. Every call has a deadline, so a misbehaving
// server fails the test instead of hanging it.
//
// Thread-safety: one thread at a time.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace inferline::http::testing {

using RawResponse = boost::beast::http::response<boost::beast::http::string_body>;

class RawClient {
 public:
  explicit RawClient(uint16_t port,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }

  // False if the bytes could not all be sent (the server closed or reset the connection).
  bool Send(std::string_view bytes);

  // Reads one complete response. nullopt on timeout, or if the connection ended first.
  std::optional<RawResponse> ReadResponse(bool head_request = false);

  // Reads until `marker` appears among the bytes received but not consumed by ReadResponse.
  bool ReadUntil(std::string_view marker);
  std::string_view unconsumed() const {
    return std::string_view(received_).substr(consumed_);
  }

  // Collects whatever arrives within `wait`; false if the connection ended (EOF or reset).
  bool ReadFor(std::chrono::milliseconds wait);

  // Reads and discards until the server closes (EOF or reset): true if that happened in time.
  bool WaitForClose();

  void Close();

 private:
  enum class ReadResult { kData, kEof, kError, kTimeout };
  ReadResult ReadMore();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string received_;
  size_t consumed_ = 0;
};

// Decodes a chunked body ("5\r\nhello\r\n0\r\n\r\n" -> "hello"); stops at the first incomplete
// chunk, so it can decode the part of a stream received so far.
std::string DecodeChunks(std::string_view chunked);

}  // namespace inferline::http::testing
