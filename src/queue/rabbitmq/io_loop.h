// IoLoop: one AMQP connection owned by one thread (rabbitmq-c is not thread-safe per
// connection). Callers Post tasks; the thread runs them in order, reads frames as they arrive
// (poll on the socket and an eventfd, no busy waiting), fires timers, sends heartbeats, and
// reconnects with exponential back-off when the connection is lost. Subclasses (Publisher,
// Consumer) hold the state of their channels and react through the hooks below, all of which
// run on the I/O thread.
//
// Thread-safety: Post, Start and Stop from any thread; everything else on the I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "queue/rabbitmq/amqp_connection.h"
#include "queue/rabbitmq/topology.h"

namespace inferline::queue {

class IoLoop {
 public:
  using Clock = std::chrono::steady_clock;

  IoLoop(std::string name, AmqpUrl url, RabbitMqOptions options);
  virtual ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Connects once (failing fast when RabbitMQ cannot be reached), then starts the thread.
  [[nodiscard]] Status Start();
  // Runs OnStop on the I/O thread, closes the connection and joins. Idempotent. Subclasses call
  // it in their destructor.
  void Stop();
  // Runs `task` on the I/O thread. After Stop the task runs on the caller's thread with
  // stopped() true, so that it can fail its caller instead of hanging.
  void Post(std::function<void()> task);

 protected:
  // I/O thread only.
  AmqpConnection* conn() { return conn_.get(); }
  bool connected() const { return conn_ != nullptr && conn_->ok(); }
  bool stopped() const { return stopped_.load(); }
  uint64_t epoch() const { return epoch_; }  // connection number, 1 for the first
  const std::string& last_error() const { return last_error_; }
  const RabbitMqOptions& options() const { return options_; }
  // Declares a work queue (and its dead-letter queues) once per connection, on channel 1.
  [[nodiscard]] Status EnsureDeclared(const std::string& physical);
  // Declares it if needed and returns RabbitMQ's counts.
  [[nodiscard]] Result<QueueCounts> Count(const std::string& physical);
  // Records why the connection must be dropped; the loop reconnects after the current task.
  void MarkBroken(const Status& why);

  // After a connection is made (channel 1 is open for declares). An error drops it.
  virtual Status OnConnected() = 0;
  // Every frame other than channel 1's RPC replies. An error drops the connection.
  virtual Status OnFrame(const amqp_frame_t& frame) = 0;
  // The connection was lost (or could not be made); `why` says why.
  virtual void OnDisconnected(const Status& why) = 0;
  // The earliest time OnTimer wants to run, if any.
  virtual std::optional<Clock::time_point> NextTimer() = 0;
  virtual void OnTimer(Clock::time_point now) = 0;
  // Fail everything pending: the loop is stopping.
  virtual void OnStop() = 0;

 private:
  Status Connect();
  void Disconnect(const Status& why);
  void Run();
  void RunTasks();
  Status ReadFrames();
  void WaitForWork();

  const std::string name_;
  const AmqpUrl url_;
  const RabbitMqOptions options_;
  int wake_fd_ = -1;

  std::mutex mu_;  // guards tasks_, stopping_ and closed_
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  bool closed_ = false;  // the thread has finished: Post runs tasks inline

  // I/O thread state.
  std::unique_ptr<AmqpConnection> conn_;
  std::set<std::string> declared_;  // work queues declared on this connection
  std::optional<Status> broken_;
  uint64_t epoch_ = 0;
  std::string last_error_;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point next_attempt_{};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace inferline::queue
