// Redis endpoints given as URLs: redis://[[user]:password@]host[:port][/db]. The host may be a
// name, an IPv4 address or a bracketed IPv6 address; the port defaults to 6379 and the database
// to 0. Percent-escapes in the password are decoded.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::redis {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // ACL user (Redis 6+); empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;

  // "host:port/db", without the password (for logs and error messages).
  std::string Describe() const;
};

// InvalidArgument naming what is wrong (scheme, port, database number, ...).
[[nodiscard]] Result<RedisEndpoint> ParseRedisUrl(std::string_view url);

}  // namespace inferline::redis
