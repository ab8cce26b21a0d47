#include "redis/redis_url.h"

#include <fmt/format.h>

#include <charconv>

namespace inferline::redis {
namespace {

constexpr std::string_view kScheme = "redis://";

Status Bad(std::string_view url, std::string_view why) {
  return InvalidArgument(fmt::format("invalid Redis URL '{}': {} (expected "
                                     "redis://[:password@]host[:port][/db])",
                                     url, why),
                         "redis_url");
}

// Parses a whole decimal number in [lo, hi].
bool ParseNumber(std::string_view s, int lo, int hi, int* out) {
  if (s.empty()) return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexDigit(in[i + 1]), lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}/{}", v6 ? "[" : "", host, v6 ? "]" : "", port, db);
}

Result<RedisEndpoint> ParseRedisUrl(std::string_view url) {
  if (url.substr(0, kScheme.size()) != kScheme) return Bad(url, "the scheme must be redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;

  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !ParseNumber(db, 0, 1 << 20, &ep.db)) {
      return Bad(url, "the database must be a number >= 0");
    }
  }

  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    std::string_view password =
        colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
    if (colon == std::string_view::npos) {  // redis://password@host, as some clients accept
      password = user;
      user = {};
    }
    if (!PercentDecode(user, &ep.user) || !PercentDecode(password, &ep.password)) {
      return Bad(url, "bad percent-escape in the credentials");
    }
  }

  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated [IPv6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(url, "unexpected text after the [IPv6] host");
      port = after.substr(1);
      if (port.empty()) return Bad(url, "empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return Bad(url, "empty port");
    }
  }
  if (host.empty()) return Bad(url, "missing host");
  if (host.find_first_of(" \t\r\n/?#@") != std::string_view::npos) {
    return Bad(url, "the host contains a character that is not allowed");
  }
  ep.host = std::string(host);
  if (!port.empty() && !ParseNumber(port, 1, 65535, &ep.port)) {
    return Bad(url, "the port must be a number in 1..65535");
  }
  return ep;
}

}  // namespace inferline::redis
