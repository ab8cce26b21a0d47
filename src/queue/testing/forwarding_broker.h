// ForwardingBroker: a Broker that passes every call to another one. Tests derive from it and
// override only the calls they want to fail or observe (a broker that refuses publishes while
// "down", one that counts what it is handed). PublishBatch is the Broker's default, one Publish
// per message, so an overridden Publish sees batches too.
//
// Thread-safety: as the wrapped broker.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

#include "queue/broker.h"

namespace inferline::queue::testing {

class ForwardingBroker : public Broker {
 public:
  explicit ForwardingBroker(Broker& inner) : inner_(inner) {}

  Status Publish(std::string_view queue, std::string_view payload,
                 const MessageMeta& meta) override {
    return inner_.Publish(queue, payload, meta);
  }
  Result<std::vector<Delivery>> Consume(std::string_view queue,
                                        const ConsumeOptions& options) override {
    return inner_.Consume(queue, options);
  }
  Status Ack(const Delivery& d) override { return inner_.Ack(d); }
  Result<NackOutcome> Nack(const Delivery& d, bool requeue,
                           std::chrono::milliseconds delay) override {
    return inner_.Nack(d, requeue, delay);
  }
  Status ExtendLease(const Delivery& d, std::chrono::milliseconds extension) override {
    return inner_.ExtendLease(d, extension);
  }
  Result<QueueStats> Stats(std::string_view queue) override { return inner_.Stats(queue); }
  Status ReleaseAllLeases() override { return inner_.ReleaseAllLeases(); }
  void Shutdown() override { inner_.Shutdown(); }

 private:
  Broker& inner_;
};

}  // namespace inferline::queue::testing
