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
  // The next complete frame without blocking: true and *frame set, or false when none is ready.
  // A heartbeat is sent when due. Data in *frame lives until ReleaseBuffers.
  [[nodiscard]] Result<bool> NextFrame(amqp_frame_t* frame);
  // Frames already read from the socket but not yet returned by NextFrame.
  bool HasBuffered() const;
  // TCP_CORK on the socket: while corked, the frames of many publishes leave in full segments
  // rather than one small segment per message (uncorking sends what is left at once). A request
  // that waits for its reply (OpenChannel, Rpc) uncorks first.
  void Cork(bool on);
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
  bool corked_ = false;
};

}  // namespace inferline::queue
