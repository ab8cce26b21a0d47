// RabbitMqBroker: the distributed deployment's Broker (queue/broker.h) on RabbitMQ quorum queues,
// through rabbitmq-c. Topology and options: rabbitmq_options.h. Two connections, each owned by
// one I/O thread: publishing (publisher.h: confirms pipelined, re-publish after reconnect) and
// consuming (consumer.h: manual acks, prefetch that follows demand, basic.get when not waiting).
//
// How the Broker contract maps onto RabbitMQ, which has no leases:
// - Publish returns when RabbitMQ confirms the message (persistent, in a quorum queue).
//   A full queue (x-max-length, reject-publish) answers basic.nack: ResourceExhausted. (A
//   quorum queue admits the message that crosses the limit, then refuses publishes until it
//   is back under 80% of it.)
//   PublishBatch pipelines the whole batch on the publishing connection (with the publishes of
//   other threads) and answers per message: a nack fails only the message it names.
//   MessageMeta::message_id becomes the AMQP message-id but does NOT deduplicate: RabbitMQ keeps
//   no index of ids. A re-publish after a lost confirm can duplicate a message; consumers are
//   idempotent (the store finalizes a request once).
// - Priority: quorum queues of RabbitMQ 3.10 have none; MessageMeta::priority travels as a
//   header only, and delivery is FIFO (returned messages come first).
// - A delivery stays with its consumer until it is acked, nacked, or its channel closes (the
//   process died or lost its connection): then RabbitMQ requeues it and counts a delivery.
//   There is no visibility timeout: ConsumeOptions::visibility_timeout is ignored, ExtendLease
//   only checks that the delivery is still held (a no-op otherwise), and ReleaseAllLeases is a
//   no-op (a dead holder's channel is gone, so its messages are already back). RabbitMQ's own
//   consumer_timeout (default 30 min) closes a channel whose delivery stays unacked longer; set
//   it above the longest generation.
// - Delivery counting: x-delivery-limit = max_deliveries - 1, so RabbitMQ dead-letters a
//   message returned (nacked or lost with its channel) max_deliveries times; Nack(requeue) of a
//   delivery whose count reached max_deliveries rejects it at once. delivery_count comes from
//   the quorum queue's x-delivery-count header.
// - Dead letters go (at-least-once) to "<queue>.dlq", kept for inspection, and a copy to
//   "<queue>.dlq.notices", which the consumer of <queue> also consumes: those deliveries carry
//   Delivery::dead_lettered. Acking the notice leaves the .dlq copy. Dead-lettering is
//   asynchronous inside RabbitMQ: a notice arrives shortly after the reject, not at once.
// - Nack with a delay holds the message (still unacked) and returns it when the delay ends.
// - Stats: `ready` and `dead` from queue.declare-ok message counts; `leased` counts only the
//   deliveries THIS process holds (AMQP reports no unacked counts); `backlog_tokens` is always 0
//   (RabbitMQ cannot sum a header): take backlog tokens from the store (reserved tokens of
//   queued and running requests).
// - Shutdown wakes blocked Consume calls; they return empty from then on.
//
// Thread-safety: every method may be called from any thread; methods block on the network.
#pragma once

#include <memory>

#include "queue/broker.h"
#include "queue/rabbitmq/rabbitmq_options.h"

namespace inferline::queue {

class Publisher;
class Consumer;

class RabbitMqBroker final : public Broker {
 public:
  // Connects both connections and declares the topology of every model's request queue and of
  // inference_results. Unavailable when RabbitMQ cannot be reached, FailedPrecondition when a
  // queue exists with other arguments, InvalidArgument for bad options.
  [[nodiscard]] static Result<std::shared_ptr<RabbitMqBroker>> Create(RabbitMqOptions options);
  ~RabbitMqBroker() override;

  Status Publish(std::string_view queue, std::string_view payload,
                 const MessageMeta& meta) override;
  std::vector<Status> PublishBatch(std::span<const OutgoingMessage> messages) override;
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
  explicit RabbitMqBroker(RabbitMqOptions options);
  std::string Physical(std::string_view queue) const;
  // What Publish checks before sending.
  static Status ValidatePublish(std::string_view queue, const MessageMeta& meta);

  const RabbitMqOptions options_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Consumer> consumer_;
};

}  // namespace inferline::queue
