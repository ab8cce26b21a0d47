// How a message's MessageMeta travels in AMQP properties: message_id in the message-id property,
// model, tokens and priority as headers (x-inferline-*), delivery_mode 2 (persistent). RabbitMQ
// adds x-delivery-count (quorum queues: returns so far) and x-death (dead letters).
//
// Thread-safety: pure functions; EncodedProperties is one publisher's scratch value.
#pragma once

#include <amqp.h>

#include <string>
#include <vector>

#include "queue/message.h"

namespace inferline::queue {

// Owns the memory the amqp_basic_properties_t points into.
class EncodedProperties {
 public:
  explicit EncodedProperties(const MessageMeta& meta);
  EncodedProperties(const EncodedProperties&) = delete;
  EncodedProperties& operator=(const EncodedProperties&) = delete;
  const amqp_basic_properties_t& get() const { return props_; }

 private:
  MessageMeta meta_;
  std::vector<amqp_table_entry_t> headers_;
  amqp_basic_properties_t props_{};
};

struct DecodedProperties {
  MessageMeta meta;
  int previous_deliveries = 0;  // x-delivery-count, 0 when absent
};

DecodedProperties DecodeProperties(const amqp_basic_properties_t& props);

}  // namespace inferline::queue
