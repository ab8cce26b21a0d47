#include "redis/redis_client.h"

#include <fmt/format.h>

#include "common/thread_name.h"

namespace inferline::redis {
namespace {

using SteadyClock = std::chrono::steady_clock;

Status ErrorReply(const Reply& r, std::string_view what) {
  return Internal(fmt::format("Redis refused {}: {}", what, r.str));
}

// EVALSHA sha numkeys keys... args...
std::vector<std::string> EvalShaCommand(const std::string& sha,
                                        const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args) {
  std::vector<std::string> cmd{"EVALSHA", sha, std::to_string(keys.size())};
  cmd.reserve(3 + keys.size() + args.size());
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

}  // namespace

std::string RedisScript::sha() const {
  std::lock_guard lock(mu_);
  return sha_;
}

void RedisScript::set_sha(std::string sha) const {
  std::lock_guard lock(mu_);
  sha_ = std::move(sha);
}

Result<std::shared_ptr<RedisClient>> RedisClient::Open(std::string_view url,
                                                       RedisClientOptions options) {
  ASSIGN_OR_RETURN(RedisEndpoint ep, ParseRedisUrl(url));
  if (options.pool_size == 0) return InvalidArgument("the Redis pool size must be >= 1");
  return std::make_shared<RedisClient>(std::move(ep), options);
}

Result<std::unique_ptr<RedisConnection>> RedisClient::ConnectDedicated() const {
  return RedisConnection::Connect(endpoint_, {options_.connect_timeout, options_.command_timeout});
}

Result<RedisClient::Lease> RedisClient::Acquire() {
  std::unique_lock lock(mu_);
  auto deadline = SteadyClock::now() + options_.command_timeout;
  if (!cv_.wait_until(lock, deadline, [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
    return Unavailable(fmt::format("all {} connections to Redis at {} stayed busy for {} ms",
                                   options_.pool_size, endpoint_.Describe(),
                                   options_.command_timeout.count()));
  }
  if (!idle_.empty()) {
    Lease lease{std::move(idle_.back()), true};
    idle_.pop_back();
    return lease;
  }
  if (SteadyClock::now() < down_until_) return last_connect_error_;
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<RedisConnection>> conn = ConnectDedicated();
  lock.lock();
  if (!conn.ok()) {
    --open_;
    down_until_ = SteadyClock::now() + options_.reconnect_backoff;
    last_connect_error_ = conn.status();
    cv_.notify_one();
    return conn.status();
  }
  return Lease{std::move(*conn), false};
}

void RedisClient::Release(std::unique_ptr<RedisConnection> conn) {
  std::lock_guard lock(mu_);
  if (conn->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

template <class Fn>
auto RedisClient::WithConnection(Fn&& fn) -> decltype(fn(std::declval<RedisConnection&>())) {
  for (int attempt = 0;; ++attempt) {
    Result<Lease> lease = Acquire();
    if (!lease.ok()) return lease.status();
    auto result = fn(*lease->conn);
    bool dead = lease->conn->broken();
    bool timed_out = lease->conn->timed_out();
    bool reused = lease->reused;
    Release(std::move(lease->conn));
    // Only a connection the server had closed is retried: after a timeout the server may
    // still run the command.
    if (!dead || timed_out || !reused || attempt > 0) return result;
    // The server closed a pooled connection (e.g. it restarted): the others are likely dead too.
    DropIdle();
  }
}

void RedisClient::DropIdle() {
  std::vector<std::unique_ptr<RedisConnection>> stale;  // closed after the lock is released
  std::lock_guard lock(mu_);
  open_ -= idle_.size();
  stale.swap(idle_);
}

Result<Reply> RedisClient::Command(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(Reply r, WithConnection([&](RedisConnection& c) { return c.Command(args); }));
  if (r.is_error()) return ErrorReply(r, args.empty() ? "an empty command" : args[0]);
  return r;
}

Result<std::vector<Reply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  return WithConnection([&](RedisConnection& c) -> Result<std::vector<Reply>> {
    for (const auto& args : commands) RETURN_IF_ERROR(c.Append(args));
    std::vector<Reply> out;
    out.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      ASSIGN_OR_RETURN(Reply r, c.GetReply());
      out.push_back(std::move(r));
    }
    return out;
  });
}

Result<Reply> RedisClient::EvalOn(RedisConnection& c, const RedisScript& script,
                                  const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) {
  std::string sha = script.sha();
  if (sha.empty()) {
    ASSIGN_OR_RETURN(Reply loaded, c.Command({"SCRIPT", "LOAD", script.source()}));
    if (loaded.is_error()) return ErrorReply(loaded, "a Lua script");
    sha = loaded.str;
    script.set_sha(sha);
  }
  std::vector<std::string> cmd = EvalShaCommand(sha, keys, args);
  ASSIGN_OR_RETURN(Reply r, c.Command(cmd));
  if (r.is_error() && r.str.starts_with("NOSCRIPT")) {
    cmd[0] = "EVAL";
    cmd[1] = script.source();  // EVAL caches the script on the server again
    ASSIGN_OR_RETURN(r, c.Command(cmd));
  }
  if (r.is_error()) return ErrorReply(r, "a Lua script");
  return r;
}

Result<Reply> RedisClient::Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
  return WithConnection(
      [&](RedisConnection& c) { return EvalOn(c, script, keys, args); });
}

Result<std::vector<Reply>> RedisClient::EvalThen(
    const RedisScript& script, const std::vector<std::string>& keys,
    const std::vector<std::string>& args, const std::vector<std::vector<std::string>>& then) {
  return WithConnection(
      [&](RedisConnection& c) { return EvalThenOn(c, script, keys, args, then); });
}

Result<std::vector<Reply>> RedisClient::EvalThenOn(
    RedisConnection& c, const RedisScript& script, const std::vector<std::string>& keys,
    const std::vector<std::string>& args, const std::vector<std::vector<std::string>>& then) {
  std::vector<Reply> out;
  out.reserve(then.size() + 1);
  const std::string sha = script.sha();
  if (!sha.empty()) {
    RETURN_IF_ERROR(c.Append(EvalShaCommand(sha, keys, args)));
    for (const auto& t : then) RETURN_IF_ERROR(c.Append(t));
    for (size_t i = 0; i <= then.size(); ++i) {
      ASSIGN_OR_RETURN(Reply r, c.GetReply());
      out.push_back(std::move(r));
    }
    if (!(out[0].is_error() && out[0].str.starts_with("NOSCRIPT"))) {
      if (out[0].is_error()) return ErrorReply(out[0], "a Lua script");
      return out;
    }
    // The server forgot the script (restarted): the script did not run and the commands
    // behind it read the state before it. Run both again, the slow way.
    out.clear();
  }
  ASSIGN_OR_RETURN(Reply r, EvalOn(c, script, keys, args));
  out.push_back(std::move(r));
  for (const auto& t : then) RETURN_IF_ERROR(c.Append(t));
  for (size_t i = 0; i < then.size(); ++i) {
    ASSIGN_OR_RETURN(Reply reply, c.GetReply());
    out.push_back(std::move(reply));
  }
  return out;
}

RedisClient::~RedisClient() {
  std::thread pipeline;
  {
    std::lock_guard lock(async_->mu);
    async_->stopping = true;
    pipeline.swap(pipeline_);
    if (pipeline.joinable() && pipeline.get_id() == std::this_thread::get_id()) {
      async_->client_gone = true;  // a callback let go of the last owner: the loop ends alone
      pipeline.detach();
    }
  }
  async_->cv.notify_all();
  if (pipeline.joinable()) pipeline.join();
}

void RedisClient::EvalThenAsync(const RedisScript& script, std::vector<std::string> keys,
                                std::vector<std::string> args,
                                std::vector<std::vector<std::string>> then, EvalDone done) {
  {
    std::lock_guard lock(async_->mu);
    if (!async_->stopping) {
      async_->queued.push_back(
          AsyncCall{&script, std::move(keys), std::move(args), std::move(then), std::move(done)});
      if (!pipeline_.joinable()) {
        pipeline_ = std::thread([this, q = async_] {
          NameThisThread("redis-pipeline");
          PipelineLoop(q);
        });
      }
      if (async_->queued.size() == 1) async_->cv.notify_one();
      return;
    }
  }
  done(Unavailable("the Redis client is shutting down"));
}

void RedisClient::PipelineLoop(const std::shared_ptr<AsyncQueue>& q) {
  std::unique_lock lock(q->mu);
  for (;;) {
    q->cv.wait(lock, [&] { return q->stopping || !q->queued.empty(); });
    if (q->queued.empty()) return;  // stopping, and everything queued has been answered
    std::vector<AsyncCall> batch;
    batch.swap(q->queued);
    const bool gone = q->client_gone;
    q->busy = true;
    lock.unlock();
    std::vector<Result<std::vector<Reply>>> results =
        gone ? std::vector<Result<std::vector<Reply>>>(
                   batch.size(), Unavailable("the Redis client is shutting down"))
             : RunBatch(batch);
    // From here on `this` may be destroyed by a callback (see ~RedisClient): only q is used.
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
    batch.clear();  // the callbacks' captures go before the lock is taken again
    lock.lock();
    q->busy = false;
    if (q->queued.empty()) q->idle.notify_all();
  }
}

void RedisClient::DrainAsync() {
  std::unique_lock lock(async_->mu);
  async_->idle.wait(lock, [&] { return async_->queued.empty() && !async_->busy; });
}

std::vector<Result<std::vector<Reply>>> RedisClient::RunBatch(std::vector<AsyncCall>& batch) {
  std::vector<Result<std::vector<Reply>>> results(
      batch.size(), Result<std::vector<Reply>>(Unavailable("not sent")));
  std::vector<bool> answered(batch.size(), false);
  for (int attempt = 0;; ++attempt) {
    Result<Lease> lease = Acquire();
    if (!lease.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!answered[i]) results[i] = lease.status();
      }
      return results;
    }
    RedisConnection& c = *lease->conn;
    bool any_reply = false;  // once a reply came, the server ran what was sent: no resend
    Status failed = [&]() -> Status {
      // Calls whose script is not loaded yet run alone first (SCRIPT LOAD); the rest go out
      // together, every command before any reply is read.
      std::vector<size_t> piped;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (answered[i]) continue;
        if (batch[i].script->sha().empty()) {
          any_reply = true;  // it may have run, whatever happens next
          results[i] = EvalThenOn(c, *batch[i].script, batch[i].keys, batch[i].args, batch[i].then);
          if (c.broken()) return results[i].status();
          answered[i] = true;
        } else {
          piped.push_back(i);
        }
      }
      for (size_t i : piped) {
        const AsyncCall& call = batch[i];
        RETURN_IF_ERROR(c.Append(EvalShaCommand(call.script->sha(), call.keys, call.args)));
        for (const auto& t : call.then) RETURN_IF_ERROR(c.Append(t));
      }
      std::vector<size_t> forgotten;  // NOSCRIPT: the server lost the script (restarted)
      for (size_t i : piped) {
        std::vector<Reply> out;
        out.reserve(batch[i].then.size() + 1);
        for (size_t k = 0; k <= batch[i].then.size(); ++k) {
          ASSIGN_OR_RETURN(Reply r, c.GetReply());
          any_reply = true;
          out.push_back(std::move(r));
        }
        answered[i] = true;
        if (out[0].is_error() && out[0].str.starts_with("NOSCRIPT")) {
          forgotten.push_back(i);
        } else if (out[0].is_error()) {
          results[i] = ErrorReply(out[0], "a Lua script");
        } else {
          results[i] = std::move(out);
        }
      }
      for (size_t i : forgotten) {
        // As in EvalThen: the script did not run, nor did anything behind it read its effects.
        results[i] = EvalThenOn(c, *batch[i].script, batch[i].keys, batch[i].args, batch[i].then);
        if (c.broken()) return results[i].status();
      }
      return Status::Ok();
    }();
    const bool dead = c.broken();
    const bool timed_out = c.timed_out();
    const bool reused = lease->reused;
    Release(std::move(lease->conn));
    if (failed.ok()) return results;
    // As in WithConnection: never resend after a timeout (the server may run the batch late).
    if (dead && !timed_out && reused && attempt == 0 && !any_reply) {
      // The server closed a pooled connection (e.g. it restarted) before running anything.
      DropIdle();
      continue;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!answered[i]) results[i] = failed;
    }
    return results;
  }
}

Status RedisClient::Ping() {
  Result<Reply> r = Command({"PING"});
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace inferline::redis
