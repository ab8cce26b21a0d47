// Consumer: the consuming connection of the RabbitMQ broker. Per queue it opens one channel
// and, once a caller waits for messages, a basic.consume on the work queue and on its notices
// queue with manual acks. The per-consumer prefetch follows demand: it is the deliveries this
// process holds plus what its callers ask for (a worker asking for its free batch slots keeps
// prefetch = batch size), capped at max_prefetch; when demand grows the consumers are
// re-subscribed with the larger prefetch (quorum queues take prefetch at basic.consume).
// A Consume that does not wait takes what is buffered and then pulls with basic.get (notices
// first), so it sees every ready message without waiting for pushes.
//
// A Delivery's `lease` is the incarnation of the channel it came on and `tag` its delivery tag:
// once the channel or connection is gone RabbitMQ has requeued the message (counting a
// delivery), and Ack/Nack/ExtendLease of it fail with FailedPrecondition, as they do for a tag
// already settled.
//
// Thread-safety: public methods from any thread; state below is owned by the I/O thread.
#pragma once

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "queue/message.h"
#include "queue/rabbitmq/io_loop.h"

namespace inferline::queue {

class Consumer final : public IoLoop {
 public:
  Consumer(AmqpUrl url, RabbitMqOptions options);
  ~Consumer() override;

  [[nodiscard]] Result<std::vector<Delivery>> Consume(const std::string& queue,
                                                      const std::string& physical,
                                                      const ConsumeOptions& options);
  [[nodiscard]] Status Ack(const Delivery& d);
  [[nodiscard]] Result<NackOutcome> Nack(const Delivery& d, bool requeue,
                                         std::chrono::milliseconds delay);
  // Ok while the delivery is still held (RabbitMQ keeps it until ack, nack or channel close).
  [[nodiscard]] Status CheckHeld(const Delivery& d);
  // RabbitMQ's counts plus the deliveries this process holds (`leased`).
  [[nodiscard]] Result<QueueStats> Stats(const std::string& queue, const std::string& physical);
  // Declares the topology of these (physical) queues.
  [[nodiscard]] Status DeclareAll(const std::vector<std::string>& physical);
  void Shutdown();

 private:
  struct Op {  // one Consume call
    size_t want = 0;
    bool wait = false;
    Clock::time_point deadline;
    std::vector<Delivery> got;
    int get_stage = 0;  // basic.get: 0 notices queue, 1 work queue
    std::promise<Result<std::vector<Delivery>>> done;
  };
  using OpPtr = std::shared_ptr<Op>;
  struct Incoming {  // a delivery whose content frames are still arriving
    uint64_t tag = 0;
    bool from_get = false;
    bool notice = false;
    size_t body_size = 0;
    bool have_header = false;
    Delivery d;
  };
  struct Sub {  // one logical queue
    std::string queue, physical;
    amqp_channel_t channel = 0;  // 0: no channel on this connection
    uint64_t incarnation = 0;
    int prefetch = 0;  // 0: not subscribed
    std::vector<std::string> consumer_tags;
    std::deque<Delivery> buffer;     // pushed to us, not handed out
    std::set<uint64_t> held;         // tags handed out, not settled
    std::deque<OpPtr> waiters;       // blocked Consume calls, FIFO
    std::deque<OpPtr> getters;       // basic.get chain, head in progress
    std::optional<Incoming> incoming;
  };
  struct Delayed {  // Nack with delay: returned to RabbitMQ at `due`
    Clock::time_point due;
    std::string queue;
    uint64_t incarnation, tag;
  };

  template <class T>
  T RunSync(std::function<T()> fn);
  Sub& GetSub(const std::string& queue, const std::string& physical);
  Sub* Find(const std::string& queue);
  Status EnsureChannel(Sub& s);
  Status EnsureSubscribed(Sub& s, size_t extra);
  void Begin(Sub& s, OpPtr op);
  void TakeBuffered(Sub& s, Op& op);
  void SendGet(Sub& s);
  void Finish(Sub& s, OpPtr op);
  void ServeWaiters(Sub& s);
  void Delivered(Sub& s, Incoming in);
  Status Held(const Delivery& d, Sub** sub);
  Status OnContent(Sub& s, const amqp_frame_t& frame);

  Status OnConnected() override;
  Status OnFrame(const amqp_frame_t& frame) override;
  void OnDisconnected(const Status& why) override;
  std::optional<Clock::time_point> NextTimer() override;
  void OnTimer(Clock::time_point now) override;
  void OnStop() override;

  std::atomic<bool> shutdown_{false};
  // I/O thread state.
  std::map<std::string, Sub> subs_;               // by logical queue
  std::map<amqp_channel_t, std::string> by_channel_;
  std::vector<Delayed> delayed_;
  amqp_channel_t next_channel_ = 2;
  uint64_t next_incarnation_ = 1;
};

}  // namespace inferline::queue
