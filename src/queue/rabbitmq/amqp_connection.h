// AmqpConnection: one rabbitmq-c connection (socket, login, channels) with Status-returning
// calls. Synchronous methods (Rpc) wait for their reply; frames for other channels that arrive
// meanwhile are kept by rabbitmq-c and come out of NextFrame later, so an I/O loop can mix a
// declare with streaming confirms and deliveries. A channel error in an Rpc closes and reopens
// that channel and returns the server's reason; a connection error leaves the connection dead
// (ok() false) for the owner to replace.
//
// Thread-safety: none. rabbitmq-c is not thread-safe per connection; one I/O thread owns it.
#pragma once

#include <amqp.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "queue/rabbitmq/rabbitmq_options.h"

namespace inferline::queue {

class AmqpConnection {
 public:
  [[nodiscard]] static Result<std::unique_ptr<AmqpConnection>> Open(
      const AmqpUrl& url, std::chrono::seconds heartbeat, std::chrono::milliseconds timeout);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t state() { return conn_; }
  int fd() const;
  bool ok() const { return ok_; }

  [[nodiscard]] Status OpenChannel(amqp_channel_t channel);
  // Sends a synchronous method; returns its decoded reply (valid until the next frame is read).
  [[nodiscard]] Result<void*> Rpc(amqp_channel_t channel, amqp_method_number_t method,
                                  amqp_method_number_t reply, void* decoded);
  // Sends an asynchronous method (ack, nack, reply-less basic.get ...).
  [[nodiscard]] Status Send(amqp_channel_t channel, amqp_method_number_t method, void* decoded);
  [[nodiscard]] Status Publish(amqp_channel_t channel, const std::string& routing_key,
                               std::string_view body, const amqp_basic_properties_t& props);
  // Publishing many messages without a system call per frame: QueuePublish encodes a message's
  // frames (basic.publish, content header, body) into this connection's output buffer, and
  // FlushPublishes writes the buffer out with as few send()s as the socket takes, so a batch
  // leaves in full segments. (rabbitmq-c's amqp_basic_publish makes one send() per frame: three
  // per message.) Every other frame this connection sends flushes the buffer first, so frames
  // keep their order. A failed or timed-out write leaves the connection dead (ok() false).
  [[nodiscard]] Status QueuePublish(amqp_channel_t channel, const std::string& routing_key,
                                    std::string_view body, const amqp_basic_properties_t& props);
  [[nodiscard]] Status FlushPublishes();
  size_t queued_bytes() const { return out_.size(); }
  [[nodiscard]] Result<bool> NextFrame(amqp_frame_t* frame);
  // Frames already read from the socket but not yet returned by NextFrame.
  bool HasBuffered() const;
  void ReleaseBuffers();
  // Answers a server-initiated channel.close / connection.close.
  void AcknowledgeClose(const amqp_frame_t& frame);

  // A readable description of a reply, e.g. "channel closed by RabbitMQ: 406 PRECONDITION_FAILED
  // - inequivalent arg 'x-max-length'".
  static std::string Describe(const amqp_rpc_reply_t& reply);
  static std::string DescribeClose(const amqp_method_t& method);

 private:
  AmqpConnection() = default;
  Status Check(amqp_rpc_reply_t reply, amqp_channel_t channel, std::string_view what);

  amqp_connection_state_t conn_ = nullptr;
  bool ok_ = true;
  std::chrono::milliseconds timeout_{0};  // for a write that the socket does not take
  std::string out_;                       // frames queued by QueuePublish
  std::string scratch_;                   // encoding space for one method or header
};

}  // namespace inferline::queue
