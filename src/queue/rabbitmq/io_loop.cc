#include "queue/rabbitmq/io_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "common/thread_name.h"

namespace inferline::queue {
namespace {

constexpr amqp_channel_t kDeclareChannel = 1;
constexpr std::chrono::milliseconds kConnectTimeout{10'000};
constexpr std::chrono::milliseconds kTick{1000};  // heartbeat checks at least this often

}  // namespace

IoLoop::IoLoop(std::string name, AmqpUrl url, RabbitMqOptions options)
    : name_(std::move(name)), url_(std::move(url)), options_(std::move(options)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

IoLoop::~IoLoop() {
  // Subclasses call Stop() first: their hooks cannot run once they are destroyed.
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status IoLoop::Start() {
  if (wake_fd_ < 0) return Internal("eventfd failed");
  Status st = Connect();
  if (!st.ok()) {
    conn_.reset();
    return st;
  }
  thread_ = std::thread([this] {
    NameThisThread("amqp-io");
    Run();
  });
  return Status::Ok();
}

void IoLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) {
    thread_.join();
  } else {
    // Never started (or Start failed): nothing runs the hooks but us.
    stopped_ = true;
    OnStop();
    std::lock_guard lock(mu_);
    closed_ = true;
  }
}

void IoLoop::Post(std::function<void()> task) {
  {
    std::unique_lock lock(mu_);
    if (!closed_) {
      tasks_.push_back(std::move(task));
      lock.unlock();
      uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof(one));
      return;
    }
  }
  task();  // stopped() is true: the task fails its caller
}

Status IoLoop::EnsureDeclared(const std::string& physical) {
  if (declared_.contains(physical)) return Status::Ok();
  RETURN_IF_ERROR(DeclareWorkQueue(*conn_, kDeclareChannel, options_, physical).status());
  declared_.insert(physical);
  return Status::Ok();
}

Result<QueueCounts> IoLoop::Count(const std::string& physical) {
  if (!declared_.contains(physical)) {
    ASSIGN_OR_RETURN(QueueCounts c, DeclareWorkQueue(*conn_, kDeclareChannel, options_, physical));
    declared_.insert(physical);
    return c;
  }
  return CountWorkQueue(*conn_, kDeclareChannel, options_, physical);
}

void IoLoop::MarkBroken(const Status& why) {
  if (!broken_) broken_ = why;
}

Status IoLoop::Connect() {
  ASSIGN_OR_RETURN(conn_, AmqpConnection::Open(url_, options_.heartbeat, kConnectTimeout));
  ++epoch_;
  declared_.clear();
  broken_.reset();
  RETURN_IF_ERROR(conn_->OpenChannel(kDeclareChannel));
  RETURN_IF_ERROR(OnConnected());
  if (epoch_ > 1) log::Info("rabbitmq {}: connected to {}", name_, url_.Redacted());
  backoff_ = std::chrono::milliseconds(0);
  return Status::Ok();
}

void IoLoop::Disconnect(const Status& why) {
  last_error_ = why.message();
  log::Warn("rabbitmq {}: {}; reconnecting", name_, why.message());
  conn_.reset();
  broken_.reset();
  OnDisconnected(why);
  backoff_ = backoff_.count() == 0 ? options_.reconnect_min
                                   : std::min(backoff_ * 2, options_.reconnect_max);
  next_attempt_ = Clock::now() + backoff_;
}

void IoLoop::RunTasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t();
}

Status IoLoop::ReadFrames() {
  amqp_frame_t frame;
  for (int i = 0; i < 4096; ++i) {
    ASSIGN_OR_RETURN(bool got, conn_->NextFrame(&frame));
    if (!got) break;
    if (frame.frame_type == AMQP_FRAME_METHOD &&
        (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
         frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD)) {
      // A channel closed under us loses its deliveries or confirms; start over cleanly.
      std::string why = AmqpConnection::DescribeClose(frame.payload.method);
      conn_->AcknowledgeClose(frame);
      return Unavailable(why);
    }
    RETURN_IF_ERROR(OnFrame(frame));
    if (broken_) return *broken_;
    conn_->ReleaseBuffers();
  }
  return Status::Ok();
}

void IoLoop::WaitForWork() {
  auto now = Clock::now();
  auto until = now + kTick;
  if (std::optional<Clock::time_point> t = NextTimer()) until = std::min(until, *t);
  if (!conn_) until = std::min(until, next_attempt_);
  int timeout_ms = static_cast<int>(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1));
  if (conn_ && conn_->HasBuffered()) timeout_ms = 0;
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn_ ? conn_->fd() : -1, POLLIN, 0}};
  (void)::poll(fds, conn_ ? 2 : 1, timeout_ms);
  uint64_t n;
  (void)!::read(wake_fd_, &n, sizeof(n));
}

void IoLoop::Run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!conn_ && Clock::now() >= next_attempt_) {
      Status st = Connect();
      if (!st.ok()) Disconnect(st);
    }
    RunTasks();
    if (conn_ && (broken_ || !conn_->ok())) {
      Disconnect(broken_ ? *broken_ : Unavailable("RabbitMQ connection failed"));
    }
    if (conn_) {
      Status st = ReadFrames();
      if (!st.ok()) Disconnect(st);
    }
    OnTimer(Clock::now());
    if (conn_ && (broken_ || !conn_->ok())) {
      Disconnect(broken_ ? *broken_ : Unavailable("RabbitMQ connection failed"));
    }
    WaitForWork();
  }
  stopped_ = true;
  OnStop();
  std::deque<std::function<void()>> rest;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    rest.swap(tasks_);
  }
  for (auto& t : rest) t();
  conn_.reset();
}

}  // namespace inferline::queue
