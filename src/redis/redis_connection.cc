#include "redis/redis_connection.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

namespace inferline::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

}  // namespace

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(const RedisEndpoint& endpoint,
                                                                  const ConnectOptions& options) {
  redisContext* c =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(options.connect_timeout));
  if (c == nullptr) {
    return Unavailable(fmt::format("cannot connect to Redis at {}: out of memory",
                                   endpoint.Describe()));
  }
  if (c->err != 0) {
    std::string why = c->errstr;
    redisFree(c);
    return Unavailable(fmt::format("cannot connect to Redis at {}: {}", endpoint.Describe(), why));
  }
  std::unique_ptr<RedisConnection> conn(new RedisConnection(c, endpoint, options));
  if (redisSetTimeout(c, ToTimeval(options.command_timeout)) != REDIS_OK) {
    return conn->IoError("setting the command timeout");
  }
  (void)redisEnableKeepAlive(c);
  auto setup = [&](std::vector<std::string> args, std::string_view what) -> Status {
    ASSIGN_OR_RETURN(Reply r, conn->Command(args));
    if (r.is_error()) {
      return Unavailable(fmt::format("Redis at {} refused {}: {}", endpoint.Describe(), what,
                                     r.str));
    }
    return Status::Ok();
  };
  if (!endpoint.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(endpoint.password);
    RETURN_IF_ERROR(setup(std::move(auth), "the password"));
  }
  if (endpoint.db != 0) {
    RETURN_IF_ERROR(setup({"SELECT", std::to_string(endpoint.db)}, "SELECT"));
  }
  return conn;
}

RedisConnection::~RedisConnection() { redisFree(c_); }

Status RedisConnection::IoError(std::string_view doing) {
  broken_ = true;
  bool timed_out = c_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (timed_out) {
    timed_out_ = true;
    return Unavailable(fmt::format("Redis at {} did not answer within {} ms ({})",
                                   endpoint_.Describe(), options_.command_timeout.count(), doing));
  }
  std::string why = c_->err == REDIS_ERR_EOF ? "the server closed the connection"
                    : c_->errstr[0] != '\0'  ? std::string(c_->errstr)
                                             : std::string(std::strerror(errno));
  return Unavailable(fmt::format("lost the connection to Redis at {} ({}): {}",
                                 endpoint_.Describe(), doing, why));
}

Status RedisConnection::Append(const std::vector<std::string>& args) {
  if (broken_) return Unavailable(fmt::format("the connection to Redis at {} is broken",
                                              endpoint_.Describe()));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    return IoError("queueing a command");
  }
  return Status::Ok();
}

Result<Reply> RedisConnection::GetReply() {
  if (broken_) return Unavailable(fmt::format("the connection to Redis at {} is broken",
                                              endpoint_.Describe()));
  void* raw = nullptr;
  if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) return IoError("reading a reply");
  ReplyPtr r(raw);
  return Reply::From(static_cast<redisReply*>(raw));
}

Result<Reply> RedisConnection::Command(const std::vector<std::string>& args) {
  RETURN_IF_ERROR(Append(args));
  return GetReply();
}

Result<std::optional<Reply>> RedisConnection::ReadPushed(std::chrono::milliseconds wait,
                                                         int wake_fd) {
  if (broken_) return Unavailable(fmt::format("the connection to Redis at {} is broken",
                                              endpoint_.Describe()));
  // Send anything queued with Append first (e.g. the SUBSCRIBE this connection waits on).
  for (int done = 0; !done;) {
    if (redisBufferWrite(c_, &done) != REDIS_OK) return IoError("sending a command");
  }
  void* raw = nullptr;
  if (redisGetReplyFromReader(c_, &raw) != REDIS_OK) return IoError("parsing a message");
  if (raw == nullptr) {
    pollfd p[2] = {{.fd = c_->fd, .events = POLLIN, .revents = 0},
                   {.fd = wake_fd, .events = POLLIN, .revents = 0}};
    int n = ::poll(p, wake_fd >= 0 ? 2 : 1, static_cast<int>(wait.count()));
    if (n < 0 && errno != EINTR) return IoError("waiting for a message");
    if (n <= 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      return std::optional<Reply>();
    }
    if (redisBufferRead(c_) != REDIS_OK) return IoError("reading a message");
    if (redisGetReplyFromReader(c_, &raw) != REDIS_OK) return IoError("parsing a message");
    if (raw == nullptr) return std::optional<Reply>();
  }
  ReplyPtr r(raw);
  return std::optional<Reply>(Reply::From(static_cast<redisReply*>(raw)));
}

}  // namespace inferline::redis
