#include "queue/rabbitmq/message_codec.h"

#include <cstring>

namespace inferline::queue {
namespace {

constexpr char kModel[] = "x-inferline-model";
constexpr char kTokens[] = "x-inferline-tokens";
constexpr char kPriority[] = "x-inferline-priority";
constexpr char kDeliveryCount[] = "x-delivery-count";

amqp_bytes_t Bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

bool KeyIs(const amqp_table_entry_t& e, const char* key) {
  return e.key.len == std::strlen(key) && std::memcmp(e.key.bytes, key, e.key.len) == 0;
}

// Any integer field kind as int64 (RabbitMQ and other clients pick different widths).
bool AsInt(const amqp_field_value_t& v, int64_t* out) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_I8: *out = v.value.i8; return true;
    case AMQP_FIELD_KIND_U8: *out = v.value.u8; return true;
    case AMQP_FIELD_KIND_I16: *out = v.value.i16; return true;
    case AMQP_FIELD_KIND_U16: *out = v.value.u16; return true;
    case AMQP_FIELD_KIND_I32: *out = v.value.i32; return true;
    case AMQP_FIELD_KIND_U32: *out = v.value.u32; return true;
    case AMQP_FIELD_KIND_I64: *out = v.value.i64; return true;
    case AMQP_FIELD_KIND_U64: *out = static_cast<int64_t>(v.value.u64); return true;
    default: return false;
  }
}

}  // namespace

EncodedProperties::EncodedProperties(const MessageMeta& meta) : meta_(meta) {
  props_._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  props_.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  if (!meta_.message_id.empty()) {
    props_._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props_.message_id = Bytes(meta_.message_id);
  }
  auto add_int = [&](const char* key, int64_t v) {
    amqp_table_entry_t e{};
    e.key = amqp_cstring_bytes(key);
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = v;
    headers_.push_back(e);
  };
  if (!meta_.model.empty()) {
    amqp_table_entry_t e{};
    e.key = amqp_cstring_bytes(kModel);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = Bytes(meta_.model);
    headers_.push_back(e);
  }
  add_int(kTokens, meta_.tokens);
  if (meta_.priority != 0) add_int(kPriority, meta_.priority);
  props_.headers = amqp_table_t{static_cast<int>(headers_.size()), headers_.data()};
}

DecodedProperties DecodeProperties(const amqp_basic_properties_t& p) {
  DecodedProperties out;
  if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
    out.meta.message_id.assign(static_cast<const char*>(p.message_id.bytes), p.message_id.len);
  }
  if (!(p._flags & AMQP_BASIC_HEADERS_FLAG)) return out;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = p.headers.entries[i];
    int64_t n = 0;
    if (KeyIs(e, kModel) && (e.value.kind == AMQP_FIELD_KIND_UTF8 ||
                             e.value.kind == AMQP_FIELD_KIND_BYTES)) {
      out.meta.model.assign(static_cast<const char*>(e.value.value.bytes.bytes),
                            e.value.value.bytes.len);
    } else if (KeyIs(e, kTokens) && AsInt(e.value, &n)) {
      out.meta.tokens = n;
    } else if (KeyIs(e, kPriority) && AsInt(e.value, &n)) {
      out.meta.priority = static_cast<int>(n);
    } else if (KeyIs(e, kDeliveryCount) && AsInt(e.value, &n)) {
      out.previous_deliveries = static_cast<int>(n);
    }
  }
  return out;
}

}  // namespace inferline::queue
