#include "http/testing/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <cerrno>
#include <cstdlib>

namespace inferline::http::testing {

namespace beast_http = boost::beast::http;

RawClient::RawClient(uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_ = fd;
}

RawClient::~RawClient() { Close(); }

void RawClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::Send(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    pollfd pfd{fd_, POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout_.count())) <= 0) return false;
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return fd_ >= 0;
}

RawClient::ReadResult RawClient::ReadMore() {
  if (fd_ < 0) return ReadResult::kError;
  pollfd pfd{fd_, POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout_.count()));
  if (ready == 0) return ReadResult::kTimeout;
  if (ready < 0) return ReadResult::kError;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n == 0) return ReadResult::kEof;
  if (n < 0) return errno == EINTR ? ReadResult::kData : ReadResult::kError;
  received_.append(buf, static_cast<size_t>(n));
  return ReadResult::kData;
}

std::optional<RawResponse> RawClient::ReadResponse(bool head_request) {
  beast_http::response_parser<beast_http::string_body> parser;
  parser.eager(true);
  parser.body_limit(64 * 1024 * 1024);
  if (head_request) parser.skip(true);
  while (true) {
    boost::system::error_code ec;
    std::string_view pending = unconsumed();
    if (!pending.empty()) {
      size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
      consumed_ += used;
      if (ec && ec != beast_http::error::need_more) return std::nullopt;
    }
    if (parser.is_done()) return parser.release();
    ReadResult r = ReadMore();
    if (r == ReadResult::kEof) {
      if (!parser.got_some()) return std::nullopt;
      parser.put_eof(ec);
      if (!ec && parser.is_done()) return parser.release();
      return std::nullopt;
    }
    if (r != ReadResult::kData) return std::nullopt;
  }
}

bool RawClient::ReadUntil(std::string_view marker) {
  while (unconsumed().find(marker) == std::string_view::npos) {
    if (ReadMore() != ReadResult::kData) return false;
  }
  return true;
}

bool RawClient::ReadFor(std::chrono::milliseconds wait) {
  std::chrono::milliseconds saved = timeout_;
  timeout_ = wait;
  ReadResult r = ReadResult::kData;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (r == ReadResult::kData && std::chrono::steady_clock::now() < deadline) r = ReadMore();
  timeout_ = saved;
  return r == ReadResult::kData || r == ReadResult::kTimeout;
}

bool RawClient::WaitForClose() {
  while (true) {
    switch (ReadMore()) {
      case ReadResult::kData: continue;
      case ReadResult::kEof:
      case ReadResult::kError: return true;
      case ReadResult::kTimeout: return false;
    }
  }
}

std::string DecodeChunks(std::string_view chunked) {
  std::string out;
  while (true) {
    size_t line_end = chunked.find("\r\n");
    if (line_end == std::string_view::npos) break;
    size_t size = std::strtoul(std::string(chunked.substr(0, line_end)).c_str(), nullptr, 16);
    if (size == 0 || chunked.size() < line_end + 2 + size + 2) break;
    out.append(chunked.substr(line_end + 2, size));
    chunked.remove_prefix(line_end + 2 + size + 2);
  }
  return out;
}

}  // namespace inferline::http::testing
