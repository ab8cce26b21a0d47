// RedisConnection: one hiredis connection (blocking API) to one endpoint: connect with a
// timeout, AUTH and SELECT, commands with a timeout, pipelining (Append + GetReply), and a
// polled read for a subscriber connection. A connection that saw an I/O error or a timeout is
// broken() and must be thrown away (its reply stream can no longer be trusted).
//
// Errors: the endpoint unreachable, a reset connection or a timeout are Unavailable with a
// message naming the endpoint (never the password); a Redis error reply is returned as a Reply
// of type kError, for the caller to judge.
//
// Thread-safety: none; one thread uses a connection at a time (RedisClient's pool hands each one
// to one caller; the event bus's subscriber thread owns its own).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/redis_reply.h"
#include "redis/redis_url.h"

struct redisContext;

namespace inferline::redis {

struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
};

class RedisConnection {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RedisConnection>> Connect(
      const RedisEndpoint& endpoint, const ConnectOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and waits for its reply.
  [[nodiscard]] Result<Reply> Command(const std::vector<std::string>& args);
  // Pipelining: queue commands (sent on the next GetReply), then read one reply per command.
  [[nodiscard]] Status Append(const std::vector<std::string>& args);
  [[nodiscard]] Result<Reply> GetReply();
  // Sends what Append queued, then waits up to `wait` for a reply or a message pushed by the
  // server (pub/sub); nullopt when none came. A readable `wake_fd` (>= 0) ends the wait early,
  // also with nullopt (the caller drains it).
  [[nodiscard]] Result<std::optional<Reply>> ReadPushed(std::chrono::milliseconds wait,
                                                        int wake_fd = -1);

  bool broken() const { return broken_; }
  // Broken by a command timeout: the server may still run what was sent (never resend it).
  bool timed_out() const { return timed_out_; }
  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  RedisConnection(redisContext* c, RedisEndpoint endpoint, ConnectOptions options)
      : c_(c), endpoint_(std::move(endpoint)), options_(options) {}
  // Marks the connection broken and describes hiredis's error.
  Status IoError(std::string_view doing);

  redisContext* c_;
  RedisEndpoint endpoint_;
  ConnectOptions options_;
  bool broken_ = false;
  bool timed_out_ = false;
};

}  // namespace inferline::redis
