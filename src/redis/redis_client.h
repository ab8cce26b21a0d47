// RedisClient: the shared way to talk to Redis. A bounded pool of connections to one endpoint,
// opened on demand and reopened after a failure, so a client can be created while Redis is down
// and recovers by itself when it is back; command timeouts; Lua scripts run with EVALSHA, loaded
// with SCRIPT LOAD on first use and re-sent with EVAL when the server answers NOSCRIPT (after a
// restart or SCRIPT FLUSH).
//
// Failure mode: when Redis cannot be reached every call returns Unavailable quickly: after a
// failed connect, calls fail at once for `reconnect_backoff` instead of each waiting out a
// connect timeout. A command that fails on a pooled connection that the server closed (Redis
// restarted) is retried once on a fresh connection; the other idle connections are dropped too.
// A Redis error reply becomes Internal with Redis's message, except where a method says
// otherwise.
//
// Thread-safety: every method may be called from any thread; calls block (network). mu_ guards
// the pool (idle_, open_, down_until_, last_connect_error_).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/redis_connection.h"
#include "redis/redis_reply.h"
#include "redis/redis_url.h"

namespace inferline::redis {

struct RedisClientOptions {
  size_t pool_size = 16;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
  // After a failed connect, calls fail fast for this long before the next attempt.
  std::chrono::milliseconds reconnect_backoff{250};
};

// A Lua script; its SHA1 is learned from the first SCRIPT LOAD and cached here.
class RedisScript {
 public:
  explicit RedisScript(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }
  std::string sha() const;
  void set_sha(std::string sha) const;

 private:
  std::string source_;
  mutable std::mutex mu_;  // guards sha_
  mutable std::string sha_;
};

class RedisClient {
 public:
  [[nodiscard]] static Result<std::shared_ptr<RedisClient>> Open(std::string_view url,
                                                                 RedisClientOptions options = {});
  RedisClient(RedisEndpoint endpoint, RedisClientOptions options)
      : endpoint_(std::move(endpoint)), options_(options) {}

  // One command; an error reply becomes Internal.
  [[nodiscard]] Result<Reply> Command(const std::vector<std::string>& args);
  // Several commands in one round trip (not atomic); error replies are returned as replies.
  [[nodiscard]] Result<std::vector<Reply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // EVALSHA with EVAL fallback; a script error becomes Internal with Redis's message.
  [[nodiscard]] Result<Reply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                   const std::vector<std::string>& args);
  // Eval, then `then` in the same round trip (pipelined behind the script, so they see its
  // effects). result[0] is the script's reply (a script error becomes Internal, as in Eval);
  // the others are the commands' replies, error replies included.
  [[nodiscard]] Result<std::vector<Reply>> EvalThen(
      const RedisScript& script, const std::vector<std::string>& keys,
      const std::vector<std::string>& args, const std::vector<std::vector<std::string>>& then);
  [[nodiscard]] Status Ping();

  // A connection outside the pool, for long-lived use (a pub/sub subscriber).
  [[nodiscard]] Result<std::unique_ptr<RedisConnection>> ConnectDedicated() const;

  const RedisEndpoint& endpoint() const { return endpoint_; }
  const RedisClientOptions& options() const { return options_; }

 private:
  struct Lease {
    std::unique_ptr<RedisConnection> conn;
    bool reused = false;
  };
  Result<Lease> Acquire();
  void Release(std::unique_ptr<RedisConnection> conn);
  // Runs fn on a pooled connection; retries once on a fresh one when a reused connection turns
  // out to be dead.
  template <class Fn>
  auto WithConnection(Fn&& fn) -> decltype(fn(std::declval<RedisConnection&>()));
  Result<Reply> EvalOn(RedisConnection& c, const RedisScript& script,
                       const std::vector<std::string>& keys, const std::vector<std::string>& args);

  const RedisEndpoint endpoint_;
  const RedisClientOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  size_t open_ = 0;  // idle + leased + being opened
  std::chrono::steady_clock::time_point down_until_{};
  Status last_connect_error_;
};

}  // namespace inferline::redis
