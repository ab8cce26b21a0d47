#include "queue/rabbitmq/rabbitmq_options.h"

#include <fmt/format.h>

#include "queue/message.h"

namespace inferline::queue {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) {
      return InvalidArgument(fmt::format("rabbitmq.url: bad %-escape in the {}", what), "url");
    }
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument(fmt::format("rabbitmq.url: bad %-escape in the {}", what), "url");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::string AmqpUrl::Redacted() const {
  std::string auth = user.empty() ? "" : fmt::format("{}:***@", user);
  return fmt::format("amqp://{}{}:{}/{}", auth, host, port, vhost == "/" ? "" : vhost);
}

Result<AmqpUrl> ParseAmqpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "amqp://";
  if (!url.starts_with(kScheme)) {
    return InvalidArgument("rabbitmq.url must start with amqp:// (amqps is not supported)",
                           "url");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  AmqpUrl out;
  out.user = "guest";
  out.password = "guest";
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = cred.find(':');
    ASSIGN_OR_RETURN(out.user, PercentDecode(cred.substr(0, colon), "user"));
    out.password = "";
    if (colon != std::string_view::npos) {
      ASSIGN_OR_RETURN(out.password, PercentDecode(cred.substr(colon + 1), "password"));
    }
  }
  size_t colon = authority.rfind(':');
  std::string_view host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) p = -1;
      if (p < 0) break;
      p = p * 10 + (c - '0');
    }
    if (port.empty() || p <= 0 || p > 65535) {
      return InvalidArgument(fmt::format("rabbitmq.url: port '{}' is not 1..65535", port), "url");
    }
    out.port = p;
  }
  if (host.empty()) return InvalidArgument("rabbitmq.url has no host", "url");
  out.host = std::string(host);
  if (path.empty()) {
    out.vhost = "/";
  } else {
    ASSIGN_OR_RETURN(out.vhost, PercentDecode(path, "vhost"));
  }
  return out;
}

Status ValidateRabbitMqOptions(const RabbitMqOptions& o) {
  RETURN_IF_ERROR(ParseAmqpUrl(o.url).status());
  if (o.max_deliveries < 1 || o.max_deliveries > 1000) {
    return InvalidArgument("rabbitmq.max_deliveries must be 1..1000", "max_deliveries");
  }
  if (o.max_length < 1) return InvalidArgument("rabbitmq.max_length must be >= 1", "max_length");
  if (o.max_prefetch < 1 || o.max_prefetch > 65535) {
    return InvalidArgument("rabbitmq.max_prefetch must be 1..65535", "max_prefetch");
  }
  if (o.confirm_window < 1 || o.confirm_window > 1'000'000) {
    return InvalidArgument("rabbitmq.confirm_window must be 1..1000000", "confirm_window");
  }
  if (o.reconnect_min.count() <= 0 || o.reconnect_max < o.reconnect_min) {
    return InvalidArgument("rabbitmq reconnect back-off must satisfy 0 < min <= max",
                           "reconnect_min");
  }
  if (o.publish_timeout.count() <= 0) {
    return InvalidArgument("rabbitmq.publish_timeout must be positive", "publish_timeout");
  }
  if (o.heartbeat.count() < 0 || o.heartbeat.count() > 3600) {
    return InvalidArgument("rabbitmq.heartbeat must be 0..3600 seconds", "heartbeat");
  }
  for (char c : o.queue_prefix) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
    if (!ok || o.queue_prefix.size() > 40) {
      return InvalidArgument("rabbitmq.queue_prefix must be 0..40 characters of [A-Za-z0-9._:/-]",
                             "queue_prefix");
    }
  }
  return Status::Ok();
}

void QueueArguments::Add(std::string key, std::string value) {
  args_.push_back(Arg{std::move(key), std::move(value), 0, true});
}

void QueueArguments::Add(std::string key, int64_t value) {
  args_.push_back(Arg{std::move(key), {}, value, false});
}

amqp_table_t QueueArguments::table() {
  entries_.clear();
  for (Arg& a : args_) {
    amqp_table_entry_t e{};
    e.key = amqp_bytes_t{a.key.size(), a.key.data()};
    if (a.is_text) {
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = amqp_bytes_t{a.text.size(), a.text.data()};
    } else {
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = a.number;
    }
    entries_.push_back(e);
  }
  return amqp_table_t{static_cast<int>(entries_.size()), entries_.data()};
}

QueueArguments WorkQueueArguments(const RabbitMqOptions& options, const std::string& physical) {
  QueueArguments a;
  a.Add("x-queue-type", std::string("quorum"));
  a.Add("x-delivery-limit", int64_t{options.max_deliveries - 1});
  // Only request queues are bounded (back-pressure towards clients). The results queue is
  // not: a worker that finished a generation must always be able to hand in its result.
  const std::string_view logical = std::string_view(physical).substr(
      physical.rfind(options.queue_prefix, 0) == 0 ? options.queue_prefix.size() : 0);
  if (logical != kResultsQueue) {
    a.Add("x-max-length", options.max_length);
    a.Add("x-overflow", std::string("reject-publish"));
  }
  a.Add("x-dead-letter-exchange", options.queue_prefix + std::string(kDeadLetterExchange));
  a.Add("x-dead-letter-routing-key", physical + ".dlq");
  a.Add("x-dead-letter-strategy", std::string("at-least-once"));
  return a;
}

QueueArguments PlainQueueArguments() {
  QueueArguments a;
  a.Add("x-queue-type", std::string("quorum"));
  return a;
}

}  // namespace inferline::queue
