#include "queue/message.h"

#include <fmt/format.h>

namespace inferline::queue {

std::string RequestQueueName(std::string_view model) {
  return fmt::format("{}{}", kRequestQueuePrefix, model);
}

std::string DeadLetterQueueName(std::string_view queue) {
  return fmt::format("{}{}", queue, kDeadLetterSuffix);
}

bool IsDeadLetterQueueName(std::string_view queue) {
  return queue.size() > kDeadLetterSuffix.size() && queue.ends_with(kDeadLetterSuffix);
}

Status ValidateQueueName(std::string_view queue) {
  if (queue.empty() || queue.size() > 200) {
    return InvalidArgument("queue name must be 1..200 characters", "queue");
  }
  for (char c : queue) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
    if (!ok) {
      return InvalidArgument(fmt::format("queue name '{}' has a character outside "
                                         "[A-Za-z0-9._:/-]", queue), "queue");
    }
  }
  return Status::Ok();
}

Status ValidateConsume(std::string_view queue, const ConsumeOptions& options) {
  RETURN_IF_ERROR(ValidateQueueName(queue));
  if (IsDeadLetterQueueName(queue)) {
    return InvalidArgument("dead letters reach the consumer of the original queue", "queue");
  }
  if (options.max_messages < 1 || options.max_messages > 1000) {
    return InvalidArgument("max_messages must be 1..1000", "max_messages");
  }
  if (options.visibility_timeout.count() <= 0) {
    return InvalidArgument("visibility_timeout must be positive", "visibility_timeout");
  }
  if (options.wait.count() < 0) return InvalidArgument("wait must be >= 0", "wait");
  return Status::Ok();
}

}  // namespace inferline::queue
