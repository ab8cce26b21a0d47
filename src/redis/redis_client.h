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
// EvalThenAsync is the non-blocking form, for callers on event loops: calls are queued for the
// client's pipeline thread, which sends everything queued while the previous batch was in flight
// as the next batch, in one write on one pooled connection, then reads the replies in order. N
// concurrent calls cost one round trip and one thread wake-up instead of N.
//
// Thread-safety: every method may be called from any thread; calls block (network), except
// EvalThenAsync. mu_ guards the pool (idle_, open_, down_until_, last_connect_error_); async_->mu
// guards the pipeline's queue and pipeline_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
  ~RedisClient();  // completes the queued async calls, then stops the pipeline thread
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

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
  // EvalThen without waiting: `done` gets what EvalThen would return, on the pipeline thread
  // (started on first use), and must not block. The script must outlive the call.
  using EvalDone = std::function<void(Result<std::vector<Reply>>)>;
  void EvalThenAsync(const RedisScript& script, std::vector<std::string> keys,
                     std::vector<std::string> args, std::vector<std::vector<std::string>> then,
                     EvalDone done);
  // Waits until every EvalThenAsync call made so far, and any its callbacks made in turn, has
  // been answered (shutdown: before what those callbacks touch goes away).
  void DrainAsync();
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
  // Closes every idle pooled connection (after one turned out dead: the server restarted).
  void DropIdle();
  // Runs fn on a pooled connection; retries once on a fresh one when a reused connection turns
  // out to be dead.
  template <class Fn>
  auto WithConnection(Fn&& fn) -> decltype(fn(std::declval<RedisConnection&>()));
  Result<Reply> EvalOn(RedisConnection& c, const RedisScript& script,
                       const std::vector<std::string>& keys, const std::vector<std::string>& args);
  Result<std::vector<Reply>> EvalThenOn(RedisConnection& c, const RedisScript& script,
                                        const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args,
                                        const std::vector<std::vector<std::string>>& then);

  struct AsyncCall {
    const RedisScript* script;
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::vector<std::vector<std::string>> then;
    EvalDone done;
  };
  // The pipeline's queue, shared with its thread: a client destroyed by a callback running on
  // that thread (its last owner let go) leaves the thread a queue to finish with.
  struct AsyncQueue {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<AsyncCall> queued;
    std::condition_variable idle;  // queued empty and no batch in flight (DrainAsync)
    bool busy = false;             // a batch is being sent or answered
    bool stopping = false;
    bool client_gone = false;  // destroyed from the pipeline thread: answer, never send
  };
  void PipelineLoop(const std::shared_ptr<AsyncQueue>& q);
  // Runs one batch; returns the outcome of each call.
  std::vector<Result<std::vector<Reply>>> RunBatch(std::vector<AsyncCall>& batch);

  const RedisEndpoint endpoint_;
  const RedisClientOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  size_t open_ = 0;  // idle + leased + being opened
  std::chrono::steady_clock::time_point down_until_{};
  Status last_connect_error_;

  const std::shared_ptr<AsyncQueue> async_ = std::make_shared<AsyncQueue>();
  std::thread pipeline_;  // started by the first EvalThenAsync, under async_->mu
};

}  // namespace inferline::redis
