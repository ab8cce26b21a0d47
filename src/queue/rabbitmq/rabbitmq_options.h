// Options of the RabbitMQ broker (rabbitmq_broker.h) and the queue topology they imply.
//
// Topology, declared idempotently (same arguments every time) before a queue is first used on a
// connection, and for every configured model at start:
//   <prefix><queue>              quorum queue: x-delivery-limit = max_deliveries - 1 (RabbitMQ
//                                dead-letters a message returned more than that many times),
//                                x-max-length + x-overflow=reject-publish, dead-lettering
//                                at-least-once to exchange "<prefix>inferline.dead_letter" with
//                                routing key "<prefix><queue>.dlq"
//   <prefix><queue>.dlq          quorum queue: dead letters kept for inspection
//   <prefix><queue>.dlq.notices  quorum queue: a copy of each dead letter for the consumer of
//                                <queue> (Delivery::dead_lettered); acking it leaves the .dlq copy
// `queue_prefix` lets several deployments (or tests) share one vhost.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace inferline::queue {

struct RabbitMqOptions {
  // amqp://user:pass@host:port/vhost (vhost URL-encoded: "%2f" is "/"; empty path is "/").
  std::string url = "amqp://guest:guest@127.0.0.1:5672/";
  int max_deliveries = 3;         // deliveries before a message dead-letters (1..1000)
  int64_t max_length = 100'000;   // ready messages per request queue before reject-publish
  int max_prefetch = 256;         // upper bound of a consumer's prefetch (1..65535)
  int confirm_window = 4096;      // publishes sent but not yet confirmed (1..1'000'000)
  std::chrono::milliseconds reconnect_min{100};  // first back-off after a lost connection
  std::chrono::milliseconds reconnect_max{5000};  // back-off doubles up to this
  std::chrono::milliseconds publish_timeout{30'000};  // Publish gives up (Unavailable) after
  std::chrono::seconds heartbeat{30};
  std::string queue_prefix;        // prepended to every queue and exchange name
  std::vector<std::string> models;  // request queues declared at start
};

struct AmqpUrl {
  std::string host;
  int port = 5672;
  std::string user;
  std::string password;
  std::string vhost;
  // The URL with the password masked, for logs and errors.
  std::string Redacted() const;
};

[[nodiscard]] Result<AmqpUrl> ParseAmqpUrl(std::string_view url);
[[nodiscard]] Status ValidateRabbitMqOptions(const RabbitMqOptions& options);

inline constexpr std::string_view kNoticesSuffix = ".notices";
inline constexpr std::string_view kDeadLetterExchange = "inferline.dead_letter";

// Queue arguments; table() points into this object, so keep it alive while the table is used.
class QueueArguments {
 public:
  void Add(std::string key, std::string value);
  void Add(std::string key, int64_t value);
  amqp_table_t table();

 private:
  struct Arg {
    std::string key;
    std::string text;
    int64_t number = 0;
    bool is_text = false;
  };
  std::vector<Arg> args_;
  std::vector<amqp_table_entry_t> entries_;
};

// Arguments of a work queue (x-queue-type, delivery limit, max length, dead-lettering) and of a
// dead-letter or notices queue (quorum only). `physical` names carry the prefix.
QueueArguments WorkQueueArguments(const RabbitMqOptions& options, const std::string& physical);
QueueArguments PlainQueueArguments();

}  // namespace inferline::queue
