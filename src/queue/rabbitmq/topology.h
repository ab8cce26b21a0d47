// Declares the broker's topology on a connection (see rabbitmq_options.h for its shape). Every
// declaration is idempotent: the same names with the same arguments. A queue that exists with
// other arguments (say another x-max-length) fails with FailedPrecondition naming the argument.
//
// Thread-safety: none; runs on the I/O thread that owns the connection.
#pragma once

#include <cstdint>
#include <string>

#include "queue/rabbitmq/amqp_connection.h"

namespace inferline::queue {

struct QueueCounts {
  int64_t ready = 0;      // messages in the work queue not delivered to any consumer
  int64_t consumers = 0;  // consumers of the work queue
  int64_t dead = 0;       // messages in its dead-letter queue
};

// The dead-letter exchange, then the work queue, its dead-letter and notices queues and their
// bindings. `physical` is the prefixed work queue name. Returns the counts RabbitMQ reports.
[[nodiscard]] Result<QueueCounts> DeclareWorkQueue(AmqpConnection& conn, amqp_channel_t channel,
                                                   const RabbitMqOptions& options,
                                                   const std::string& physical);

// Counts of a work queue already declared on this connection (two declares, no bindings).
[[nodiscard]] Result<QueueCounts> CountWorkQueue(AmqpConnection& conn, amqp_channel_t channel,
                                                 const RabbitMqOptions& options,
                                                 const std::string& physical);

}  // namespace inferline::queue
