// Broker: the durable work queue between the gateway, the workers and the collector.
//
// Semantics every implementation provides (tests: broker_contract_test.h):
// - Publish returns only once the message is durable (embedded: committed to SQLite; RabbitMQ:
//   publisher confirm). A MessageMeta::message_id makes a repeated publish of a message still in
//   the queue a no-op.
// - PublishBatch publishes several messages (to one or several queues) and returns one Status
//   per message, in the order given, once every message has its answer. Exactly the messages
//   whose Status is ok are durable, as if each had been published alone; a message that failed
//   is not (Unavailable after a timeout: it may still arrive, as with Publish). One message's
//   failure does not stop the others, so the confirmed messages need not be a prefix (a full
//   queue refuses its messages while another queue takes its own). Messages to one queue are
//   enqueued in the given order. The default publishes one by one; RabbitMQ pipelines the batch.
// - Consume leases up to N messages, highest priority first, FIFO within a priority. A lease
//   that is neither acked nor nacked within the visibility timeout expires and the message is
//   delivered again (at-least-once: consumers must be idempotent).
// - Every lease counts as a delivery. A message whose delivery count reached max_deliveries and
//   comes up again, or that is nacked without requeue, moves to the dead-letter queue
//   "<queue>.dlq" and is handed once more to the consumer of "<queue>" with
//   Delivery::dead_lettered set, so that the request can end as `failed`; acking that notice
//   leaves the message in the dead-letter queue for inspection.
// - Ack / Nack / ExtendLease of a delivery that is no longer the message's current lease (it
//   expired and the message was delivered again, or it was already acked or nacked) fail with
//   FailedPrecondition and change nothing. (A lease that expired may still be accepted while
//   no Consume has reclaimed its message.)
// - Consume with ConsumeOptions::wait blocks without polling until a message arrives, a lease
//   expires, the wait ends, or Shutdown is called.
// - ReleaseAllLeases makes every leased message visible again at once. Only a process that
//   knows it is the sole consumer may call it, e.g. the embedded `inferline serve` on startup,
//   since leases held by its previous incarnation died with it.
//
// Thread-safety: every method may be called from any thread. Methods block (disk or network):
// never call them on an HTTP I/O thread; the gateway runs them on its blocking pool.
#pragma once

#include <chrono>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "queue/message.h"

namespace inferline::queue {

class Broker {
 public:
  virtual ~Broker() = default;

  [[nodiscard]] virtual Status Publish(std::string_view queue, std::string_view payload,
                                       const MessageMeta& meta) = 0;

  // See the contract above: result[i] is the outcome of messages[i].
  [[nodiscard]] virtual std::vector<Status> PublishBatch(
      std::span<const OutgoingMessage> messages) {
    std::vector<Status> results;
    results.reserve(messages.size());
    for (const OutgoingMessage& m : messages) {
      results.push_back(Publish(m.queue, m.payload, m.meta));
    }
    return results;
  }

  // Publishes a message, then acks `delivery` (a worker's result for the request it took):
  // `published` is the publish's outcome and `acked` the ack's, tried only once the message is
  // published. A broker that can do both in one durable step overrides this (SQLite: one
  // transaction, one commit instead of two); there an error in either step fails both and is
  // reported in `published` (nothing was written, publish again), while a lease that moved on
  // only sets `acked` (the message stands).
  struct PublishAckResult {
    Status published;
    Status acked;
  };
  [[nodiscard]] virtual PublishAckResult PublishAndAck(std::string_view queue,
                                                       std::string_view payload,
                                                       const MessageMeta& meta,
                                                       const Delivery& delivery) {
    PublishAckResult r;
    r.published = Publish(queue, payload, meta);
    if (r.published.ok()) r.acked = Ack(delivery);
    return r;
  }

  // Returns up to options.max_messages deliveries; an empty vector when the wait ended first.
  [[nodiscard]] virtual Result<std::vector<Delivery>> Consume(std::string_view queue,
                                                              const ConsumeOptions& options) = 0;

  // Removes the message (a dead-letter notice stays in the dead-letter queue, reported).
  [[nodiscard]] virtual Status Ack(const Delivery& delivery) = 0;

  // Gives the message back: visible again after `delay` when `requeue`, else dead-lettered.
  [[nodiscard]] virtual Result<NackOutcome> Nack(const Delivery& delivery, bool requeue,
                                                 std::chrono::milliseconds delay = {}) = 0;

  // Pushes the lease's expiry to now + `extension` (long generations).
  [[nodiscard]] virtual Status ExtendLease(const Delivery& delivery,
                                           std::chrono::milliseconds extension) = 0;

  // Counts for a queue. For "<queue>.dlq", `ready` and `dead` both count the dead letters.
  [[nodiscard]] virtual Result<QueueStats> Stats(std::string_view queue) = 0;

  [[nodiscard]] virtual Status ReleaseAllLeases() = 0;

  // Wakes every blocked Consume, which returns at once from then on. Idempotent.
  virtual void Shutdown() = 0;

  // Ready messages (what KEDA scales on) and tokens of outstanding work.
  [[nodiscard]] Result<int64_t> Depth(std::string_view queue) {
    ASSIGN_OR_RETURN(QueueStats s, Stats(queue));
    return s.ready;
  }
  [[nodiscard]] Result<int64_t> BacklogTokens(std::string_view queue) {
    ASSIGN_OR_RETURN(QueueStats s, Stats(queue));
    return s.backlog_tokens;
  }
};

}  // namespace inferline::queue
