#include "queue/rabbitmq/topology.h"

#include <amqp_framing.h>

namespace inferline::queue {
namespace {

amqp_bytes_t Bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

Result<amqp_queue_declare_ok_t> DeclareQueue(AmqpConnection& conn, amqp_channel_t channel,
                                             const std::string& name, QueueArguments args) {
  amqp_queue_declare_t m{};
  m.queue = Bytes(name);
  m.durable = 1;
  m.arguments = args.table();
  ASSIGN_OR_RETURN(void* reply, conn.Rpc(channel, AMQP_QUEUE_DECLARE_METHOD,
                                         AMQP_QUEUE_DECLARE_OK_METHOD, &m));
  return *static_cast<amqp_queue_declare_ok_t*>(reply);
}

Status Bind(AmqpConnection& conn, amqp_channel_t channel, const std::string& queue,
            const std::string& exchange, const std::string& key) {
  amqp_queue_bind_t m{};
  m.queue = Bytes(queue);
  m.exchange = Bytes(exchange);
  m.routing_key = Bytes(key);
  m.arguments = amqp_empty_table;
  return conn.Rpc(channel, AMQP_QUEUE_BIND_METHOD, AMQP_QUEUE_BIND_OK_METHOD, &m).status();
}

}  // namespace

Result<QueueCounts> DeclareWorkQueue(AmqpConnection& conn, amqp_channel_t channel,
                                     const RabbitMqOptions& options,
                                     const std::string& physical) {
  std::string exchange = options.queue_prefix + std::string(kDeadLetterExchange);
  amqp_exchange_declare_t x{};
  x.exchange = Bytes(exchange);
  std::string direct = "direct";
  x.type = Bytes(direct);
  x.durable = 1;
  x.arguments = amqp_empty_table;
  RETURN_IF_ERROR(conn.Rpc(channel, AMQP_EXCHANGE_DECLARE_METHOD, AMQP_EXCHANGE_DECLARE_OK_METHOD,
                           &x).status());
  // Dead-letter targets first: at-least-once dead-lettering needs them to exist.
  std::string dlq = physical + ".dlq";
  std::string notices = dlq + std::string(kNoticesSuffix);
  ASSIGN_OR_RETURN(amqp_queue_declare_ok_t dead,
                   DeclareQueue(conn, channel, dlq, PlainQueueArguments()));
  ASSIGN_OR_RETURN(amqp_queue_declare_ok_t unused,
                   DeclareQueue(conn, channel, notices, PlainQueueArguments()));
  (void)unused;
  RETURN_IF_ERROR(Bind(conn, channel, dlq, exchange, dlq));
  RETURN_IF_ERROR(Bind(conn, channel, notices, exchange, dlq));
  ASSIGN_OR_RETURN(amqp_queue_declare_ok_t work,
                   DeclareQueue(conn, channel, physical, WorkQueueArguments(options, physical)));
  return QueueCounts{work.message_count, work.consumer_count, dead.message_count};
}

Result<QueueCounts> CountWorkQueue(AmqpConnection& conn, amqp_channel_t channel,
                                   const RabbitMqOptions& options, const std::string& physical) {
  ASSIGN_OR_RETURN(amqp_queue_declare_ok_t dead,
                   DeclareQueue(conn, channel, physical + ".dlq", PlainQueueArguments()));
  ASSIGN_OR_RETURN(amqp_queue_declare_ok_t work,
                   DeclareQueue(conn, channel, physical, WorkQueueArguments(options, physical)));
  return QueueCounts{work.message_count, work.consumer_count, dead.message_count};
}

}  // namespace inferline::queue
