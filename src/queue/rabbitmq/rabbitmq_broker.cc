#include "queue/rabbitmq/rabbitmq_broker.h"

#include <fmt/format.h>

#include "queue/rabbitmq/consumer.h"
#include "queue/rabbitmq/publisher.h"

namespace inferline::queue {

RabbitMqBroker::RabbitMqBroker(RabbitMqOptions options) : options_(std::move(options)) {}

RabbitMqBroker::~RabbitMqBroker() {
  if (consumer_) consumer_->Stop();
  if (publisher_) publisher_->Stop();
}

Result<std::shared_ptr<RabbitMqBroker>> RabbitMqBroker::Create(RabbitMqOptions options) {
  RETURN_IF_ERROR(ValidateRabbitMqOptions(options));
  std::vector<std::string> queues;
  for (const std::string& model : options.models) {
    std::string q = RequestQueueName(model);
    RETURN_IF_ERROR(ValidateQueueName(q).Annotate(fmt::format("model '{}'", model)));
    queues.push_back(options.queue_prefix + q);
  }
  queues.push_back(options.queue_prefix + std::string(kResultsQueue));
  ASSIGN_OR_RETURN(AmqpUrl url, ParseAmqpUrl(options.url));
  std::shared_ptr<RabbitMqBroker> b(new RabbitMqBroker(options));
  b->consumer_ = std::make_unique<Consumer>(url, options);
  b->publisher_ = std::make_unique<Publisher>(url, options);
  RETURN_IF_ERROR(b->consumer_->Start());
  RETURN_IF_ERROR(b->consumer_->DeclareAll(queues));
  RETURN_IF_ERROR(b->publisher_->Start());
  return b;
}

std::string RabbitMqBroker::Physical(std::string_view queue) const {
  return options_.queue_prefix + std::string(queue);
}

Status RabbitMqBroker::ValidatePublish(std::string_view queue, const MessageMeta& meta) {
  RETURN_IF_ERROR(ValidateQueueName(queue));
  if (IsDeadLetterQueueName(queue)) {
    return InvalidArgument("cannot publish to a dead-letter queue", "queue");
  }
  if (meta.tokens < 0) return InvalidArgument("message tokens must be >= 0", "tokens");
  return Status::Ok();
}

Status RabbitMqBroker::Publish(std::string_view queue, std::string_view payload,
                               const MessageMeta& meta) {
  RETURN_IF_ERROR(ValidatePublish(queue, meta));
  return publisher_->Publish(Physical(queue), payload, meta);
}

std::vector<Status> RabbitMqBroker::PublishBatch(std::span<const OutgoingMessage> messages) {
  std::vector<Status> results(messages.size());
  std::vector<OutgoingMessage> valid;
  std::vector<size_t> where;  // valid[k] is messages[where[k]]
  valid.reserve(messages.size());
  where.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    results[i] = ValidatePublish(messages[i].queue, messages[i].meta);
    if (!results[i].ok()) continue;
    valid.push_back({Physical(messages[i].queue), messages[i].payload, messages[i].meta});
    where.push_back(i);
  }
  std::vector<Status> sent = publisher_->PublishBatch(std::move(valid));
  for (size_t k = 0; k < sent.size(); ++k) results[where[k]] = std::move(sent[k]);
  return results;
}

Result<std::vector<Delivery>> RabbitMqBroker::Consume(std::string_view queue,
                                                      const ConsumeOptions& options) {
  RETURN_IF_ERROR(ValidateConsume(queue, options));
  return consumer_->Consume(std::string(queue), Physical(queue), options);
}

Status RabbitMqBroker::Ack(const Delivery& delivery) { return consumer_->Ack(delivery); }

Result<NackOutcome> RabbitMqBroker::Nack(const Delivery& delivery, bool requeue,
                                         std::chrono::milliseconds delay) {
  if (delay.count() < 0) return InvalidArgument("delay must be >= 0", "delay");
  return consumer_->Nack(delivery, requeue, delay);
}

Status RabbitMqBroker::ExtendLease(const Delivery& delivery, std::chrono::milliseconds) {
  return consumer_->CheckHeld(delivery);
}

Result<QueueStats> RabbitMqBroker::Stats(std::string_view queue) {
  RETURN_IF_ERROR(ValidateQueueName(queue));
  return consumer_->Stats(std::string(queue), Physical(queue));
}

Status RabbitMqBroker::ReleaseAllLeases() { return Status::Ok(); }

void RabbitMqBroker::Shutdown() { consumer_->Shutdown(); }

}  // namespace inferline::queue
