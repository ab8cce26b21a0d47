// Publisher: the publishing connection of the RabbitMQ broker. One channel in confirm mode;
// Publish calls from any number of threads are pipelined on it by the I/O thread (up to
// confirm_window unconfirmed), and each caller returns when RabbitMQ confirms ITS message
// (basic.ack, `multiple` acks settle every earlier tag at once). basic.nack -- what a quorum
// queue at x-max-length with reject-publish answers -- fails the caller with
// ResourceExhausted. After a lost connection, every message sent but not confirmed is sent
// again on the new one (so a consumer may see a duplicate; consumers are idempotent).
//
// PublishBatch hands a whole batch to the I/O thread in one task: its messages are pipelined
// like those of concurrent Publish calls, and each gets its own answer (a nack fails only the
// message it names).
//
// Publishers and consumers use separate connections, as RabbitMQ advises: flow control that
// blocks a publishing connection must not stop acks and deliveries.
//
// Thread-safety: Publish from any thread; state below is owned by the I/O thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "queue/message.h"
#include "queue/rabbitmq/io_loop.h"

namespace inferline::queue {

class Publisher final : public IoLoop {
 public:
  Publisher(AmqpUrl url, RabbitMqOptions options);
  ~Publisher() override;

  // Blocks until RabbitMQ confirms (ok), refuses (ResourceExhausted) or publish_timeout passes
  // (Unavailable; the message may still arrive).
  [[nodiscard]] Status Publish(const std::string& physical_queue, std::string_view payload,
                               const MessageMeta& meta);
  // Publishes every message (queue = physical queue name) and blocks until each is confirmed,
  // refused or timed out; result[i] as Publish would answer for batch[i].
  [[nodiscard]] std::vector<Status> PublishBatch(std::vector<OutgoingMessage> batch);

 private:
  // The outcomes of one PublishBatch (or Publish): the caller waits once for all of them,
  // woken when the last is in, not once per message.
  struct BatchDone {
    explicit BatchDone(size_t n) : remaining(n), results(n) {}
    void Set(size_t i, Status st);
    std::vector<Status> Wait();
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining;
    std::vector<Status> results;
  };
  struct Message {
    std::string queue;
    std::string payload;
    MessageMeta meta;
    Clock::time_point deadline;
    std::shared_ptr<BatchDone> batch;
    size_t index = 0;
    bool finished = false;
    ~Message();
    void Finish(Status st);  // the first outcome counts
  };
  using MessagePtr = std::shared_ptr<Message>;

  // Queues the messages on the I/O thread (or fails them when the loop has stopped).
  void Enqueue(std::vector<MessagePtr> messages);
  void SendWaiting();
  void SendWaitingFrames();
  void Confirm(uint64_t tag, bool multiple, bool ack);

  Status OnConnected() override;
  Status OnFrame(const amqp_frame_t& frame) override;
  void OnDisconnected(const Status& why) override;
  std::optional<Clock::time_point> NextTimer() override;
  void OnTimer(Clock::time_point now) override;
  void OnStop() override;

  // I/O thread state.
  std::deque<MessagePtr> waiting_;             // not sent on the current connection yet
  std::map<uint64_t, MessagePtr> unconfirmed_;  // delivery tag -> sent, awaiting confirm
  uint64_t next_tag_ = 1;
  bool ready_ = false;  // the confirm channel is open
};

}  // namespace inferline::queue
