// Plain types of the Broker seam (broker.h): what a publisher attaches to a message, what a
// consumer receives, and queue statistics for scaling. Also the queue names of the platform.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::queue {

// Requests for one model go to "inference_requests.<model>", results to "inference_results";
// messages that failed too often move to "<queue>.dlq".
inline constexpr std::string_view kRequestQueuePrefix = "inference_requests.";
inline constexpr std::string_view kResultsQueue = "inference_results";
inline constexpr std::string_view kDeadLetterSuffix = ".dlq";

std::string RequestQueueName(std::string_view model);
std::string DeadLetterQueueName(std::string_view queue);
bool IsDeadLetterQueueName(std::string_view queue);
// Queue names: 1..200 characters of [A-Za-z0-9._:/-]. Model names end up in them.
Status ValidateQueueName(std::string_view queue);

struct MessageMeta {
  // Optional idempotency key: while a message with this id is in the queue (not yet acked),
  // publishing another one with the same id is a successful no-op. Use the request id.
  std::string message_id;
  std::string model;
  int64_t tokens = 0;  // work this message represents, summed into BacklogTokens
  int priority = 0;    // higher first; FIFO within a priority
};

// One message of Broker::PublishBatch: where it goes, what it says.
struct OutgoingMessage {
  std::string queue;
  std::string payload;
  MessageMeta meta;
};

// One delivery of a message to a consumer; pass it back to Ack/Nack/ExtendLease.
struct Delivery {
  std::string queue;
  std::string payload;
  MessageMeta meta;
  int delivery_count = 0;  // 1 on the first delivery
  // A dead-letter notice: the message exceeded max_deliveries (or was rejected) and now lives
  // in "<queue>.dlq". It is handed to the original queue's consumer once, so that the request
  // can end as `failed`; Ack it after doing so (until then it is redelivered like any message).
  bool dead_lettered = false;
  // Opaque to callers: identify the message and this particular lease.
  uint64_t tag = 0;
  uint64_t lease = 0;
};

struct ConsumeOptions {
  int max_messages = 1;  // 1..1000
  // An un-acked delivery becomes visible again this long after it was leased.
  std::chrono::milliseconds visibility_timeout{std::chrono::minutes(5)};
  // How long Consume may block waiting for a first message; zero returns at once.
  std::chrono::milliseconds wait{0};
};

enum class NackOutcome { kRequeued, kDeadLettered };

// Checks what every Broker checks before consuming: a valid, non-dead-letter queue name,
// 1..1000 messages, a positive visibility timeout and a non-negative wait.
Status ValidateConsume(std::string_view queue, const ConsumeOptions& options);

struct QueueStats {
  int64_t ready = 0;           // waiting to be consumed (the depth KEDA scales on)
  int64_t leased = 0;          // delivered, not yet acked
  int64_t dead = 0;            // in the dead-letter queue
  int64_t backlog_tokens = 0;  // tokens of ready + leased messages (work still to do)
};

}  // namespace inferline::queue
