#include "queue/rabbitmq/rabbitmq_options.h"

#include <gtest/gtest.h>

#include <map>

#include "queue/rabbitmq/message_codec.h"

namespace inferline::queue {
namespace {

TEST(ParseAmqpUrl, ReadsEveryPart) {
  auto u = ParseAmqpUrl("amqp://app:s%40cret@mq.local:5673/prod");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->user, "app");
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->host, "mq.local");
  EXPECT_EQ(u->port, 5673);
  EXPECT_EQ(u->vhost, "prod");
  EXPECT_EQ(u->Redacted(), "amqp://app:***@mq.local:5673/prod");
}

TEST(ParseAmqpUrl, DefaultsAndTheRootVhost) {
  auto u = ParseAmqpUrl("amqp://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->user, "guest");
  EXPECT_EQ(u->port, 5672);
  EXPECT_EQ(u->vhost, "/");
  EXPECT_EQ(ParseAmqpUrl("amqp://h:1/%2f")->vhost, "/");
}

TEST(ParseAmqpUrl, RejectsBadUrlsWithAReason) {
  for (const char* bad : {"http://h/", "amqps://h/", "amqp://:5672/", "amqp://h:0/",
                          "amqp://h:99999/", "amqp://h:x/", "amqp://u:p%zz@h/", "amqp://h/%4"}) {
    auto u = ParseAmqpUrl(bad);
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(u.status().message().find("rabbitmq.url"), std::string::npos) << bad;
  }
}

TEST(ValidateRabbitMqOptions, ChecksRanges) {
  RabbitMqOptions o;
  EXPECT_TRUE(ValidateRabbitMqOptions(o).ok());
  o.max_deliveries = 0;
  EXPECT_EQ(ValidateRabbitMqOptions(o).param(), "max_deliveries");
  o = {};
  o.confirm_window = 0;
  EXPECT_EQ(ValidateRabbitMqOptions(o).param(), "confirm_window");
  o = {};
  o.queue_prefix = "has space";
  EXPECT_EQ(ValidateRabbitMqOptions(o).param(), "queue_prefix");
  o = {};
  o.reconnect_max = std::chrono::milliseconds(1);
  EXPECT_FALSE(ValidateRabbitMqOptions(o).ok());
}

TEST(WorkQueueArguments, DeclareAQuorumQueueThatDeadLettersAndRejectsWhenFull) {
  RabbitMqOptions o;
  o.max_deliveries = 3;
  o.max_length = 500;
  o.queue_prefix = "t1.";
  QueueArguments a = WorkQueueArguments(o, "t1.inference_requests.tiny");
  amqp_table_t t = a.table();
  std::map<std::string, std::string> got;
  for (int i = 0; i < t.num_entries; ++i) {
    const auto& e = t.entries[i];
    std::string key(static_cast<const char*>(e.key.bytes), e.key.len);
    got[key] = e.value.kind == AMQP_FIELD_KIND_I64
                   ? std::to_string(e.value.value.i64)
                   : std::string(static_cast<const char*>(e.value.value.bytes.bytes),
                                 e.value.value.bytes.len);
  }
  EXPECT_EQ(got["x-queue-type"], "quorum");
  EXPECT_EQ(got["x-delivery-limit"], "2");  // RabbitMQ dead-letters after limit+1 deliveries
  EXPECT_EQ(got["x-max-length"], "500");
  EXPECT_EQ(got["x-overflow"], "reject-publish");
  EXPECT_EQ(got["x-dead-letter-exchange"], "t1.inferline.dead_letter");
  EXPECT_EQ(got["x-dead-letter-routing-key"], "t1.inference_requests.tiny.dlq");
  EXPECT_EQ(got["x-dead-letter-strategy"], "at-least-once");
}

TEST(MessageCodec, MetaRoundTripsThroughProperties) {
  MessageMeta m{.message_id = "req-1", .model = "tiny", .tokens = 77, .priority = -2};
  EncodedProperties enc(m);
  EXPECT_EQ(enc.get().delivery_mode, AMQP_DELIVERY_PERSISTENT);
  DecodedProperties dec = DecodeProperties(enc.get());
  EXPECT_EQ(dec.meta.message_id, "req-1");
  EXPECT_EQ(dec.meta.model, "tiny");
  EXPECT_EQ(dec.meta.tokens, 77);
  EXPECT_EQ(dec.meta.priority, -2);
  EXPECT_EQ(dec.previous_deliveries, 0);
}

TEST(MessageCodec, ReadsTheDeliveryCountInAnyIntegerWidth) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes("x-delivery-count");
  e.value.kind = AMQP_FIELD_KIND_I32;
  e.value.value.i32 = 2;
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_HEADERS_FLAG;
  p.headers = amqp_table_t{1, &e};
  EXPECT_EQ(DecodeProperties(p).previous_deliveries, 2);
  e.value.kind = AMQP_FIELD_KIND_U8;
  e.value.value.u8 = 4;
  EXPECT_EQ(DecodeProperties(p).previous_deliveries, 4);
}

}  // namespace
}  // namespace inferline::queue
