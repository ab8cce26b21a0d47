// MemoryBroker: an in-memory Broker with the same semantics as the durable ones (leases,
// visibility timeout, dead-lettering, blocking consume) but nothing survives the process. For
// unit tests of other components; never a product default.
//
// Thread-safety: every method may be called from any thread; mu_ guards all state.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "queue/broker.h"

namespace inferline::queue {

struct MemoryBrokerOptions {
  int max_deliveries = 3;
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
};

class MemoryBroker final : public Broker {
 public:
  explicit MemoryBroker(MemoryBrokerOptions options = {});

  Status Publish(std::string_view queue, std::string_view payload,
                 const MessageMeta& meta) override;
  Result<std::vector<Delivery>> Consume(std::string_view queue,
                                        const ConsumeOptions& options) override;
  Status Ack(const Delivery& delivery) override;
  Result<NackOutcome> Nack(const Delivery& delivery, bool requeue,
                           std::chrono::milliseconds delay = {}) override;
  Status ExtendLease(const Delivery& delivery, std::chrono::milliseconds extension) override;
  Result<QueueStats> Stats(std::string_view queue) override;
  Status ReleaseAllLeases() override;
  void Shutdown() override;

 private:
  enum class State { kReady, kLeased, kDeadReported };
  struct Message {
    std::string payload;
    MessageMeta meta;
    State state = State::kReady;
    bool dead = false;
    int deliveries = 0;
    int64_t visible_at = 0;
    int64_t lease_until = 0;
  };
  using Queue = std::map<uint64_t, Message>;  // by id, i.e. publish order

  int64_t NowMs() const;
  // The leased message `d` refers to, or null when that lease is no longer current.
  Message* CurrentLease(const Delivery& d);
  // Leases what is visible now; sets *next_wake to the next expiry or delayed message.
  std::vector<Delivery> TryLease(const std::string& name, Queue& q, const ConsumeOptions& o,
                                 int64_t* next_wake);

  MemoryBrokerOptions options_;
  std::mutex mu_;  // guards queues_, next_id_, shutdown_
  std::condition_variable cv_;
  std::map<std::string, Queue, std::less<>> queues_;
  uint64_t next_id_ = 1;
  bool shutdown_ = false;
};

}  // namespace inferline::queue
