#include "queue/rabbitmq/amqp_connection.h"

#include <amqp_tcp_socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fmt/format.h>

namespace inferline::queue {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

std::string_view Text(amqp_bytes_t b) {
  return std::string_view(static_cast<const char*>(b.bytes), b.len);
}

}  // namespace

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::Open(const AmqpUrl& url,
                                                             std::chrono::seconds heartbeat,
                                                             std::chrono::milliseconds timeout) {
  std::unique_ptr<AmqpConnection> c(new AmqpConnection());
  c->conn_ = amqp_new_connection();
  if (c->conn_ == nullptr) return Internal("amqp_new_connection failed");
  amqp_socket_t* socket = amqp_tcp_socket_new(c->conn_);
  if (socket == nullptr) return Internal("amqp_tcp_socket_new failed");
  timeval tv = ToTimeval(timeout);
  int rc = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &tv);
  if (rc != AMQP_STATUS_OK) {
    return Unavailable(fmt::format("cannot connect to RabbitMQ at {}: {}", url.Redacted(),
                                   amqp_error_string2(rc)));
  }
  amqp_set_handshake_timeout(c->conn_, &tv);
  amqp_set_rpc_timeout(c->conn_, &tv);
  amqp_rpc_reply_t r =
      amqp_login(c->conn_, url.vhost.c_str(), 0, 131072, static_cast<int>(heartbeat.count()),
                 AMQP_SASL_METHOD_PLAIN, url.user.c_str(), url.password.c_str());
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    c->ok_ = false;
    return Unavailable(fmt::format("RabbitMQ login at {} failed: {}", url.Redacted(),
                                   Describe(r)));
  }
  return c;
}

AmqpConnection::~AmqpConnection() {
  if (conn_ == nullptr) return;
  if (ok_) {
    timeval tv{1, 0};
    amqp_set_rpc_timeout(conn_, &tv);
    (void)amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn_);
}

int AmqpConnection::fd() const { return amqp_get_sockfd(conn_); }

std::string AmqpConnection::DescribeClose(const amqp_method_t& m) {
  if (m.id == AMQP_CONNECTION_CLOSE_METHOD) {
    auto* c = static_cast<amqp_connection_close_t*>(m.decoded);
    return fmt::format("connection closed by RabbitMQ: {} {}", c->reply_code,
                       Text(c->reply_text));
  }
  if (m.id == AMQP_CHANNEL_CLOSE_METHOD) {
    auto* c = static_cast<amqp_channel_close_t*>(m.decoded);
    return fmt::format("channel closed by RabbitMQ: {} {}", c->reply_code, Text(c->reply_text));
  }
  return fmt::format("unexpected AMQP method 0x{:08x}", m.id);
}

std::string AmqpConnection::Describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "no reply (missing RPC reply type)";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION: return DescribeClose(r.reply);
  }
  return "unknown reply";
}

Status AmqpConnection::Check(amqp_rpc_reply_t r, amqp_channel_t channel, std::string_view what) {
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return Status::Ok();
  std::string text = fmt::format("RabbitMQ {}: {}", what, Describe(r));
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    amqp_channel_close_ok_t ok{};
    if (amqp_send_method(conn_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) {
      ok_ = false;
      return Unavailable(text);
    }
    Status reopened = OpenChannel(channel);
    if (!reopened.ok()) return reopened;
    auto* close = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    if (close->reply_code == 404) return NotFound(text);
    if (close->reply_code == 406) return FailedPrecondition(text);
    return Internal(text);
  }
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
      r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    amqp_connection_close_ok_t ok{};
    (void)amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
  }
  ok_ = false;
  return Unavailable(text);
}

Status AmqpConnection::OpenChannel(amqp_channel_t channel) {
  Cork(false);  // a request that waits for its reply must leave now
  amqp_channel_open(conn_, channel);
  return Check(amqp_get_rpc_reply(conn_), channel, "channel.open");
}

Result<void*> AmqpConnection::Rpc(amqp_channel_t channel, amqp_method_number_t method,
                                  amqp_method_number_t reply, void* decoded) {
  Cork(false);  // a request that waits for its reply must leave now
  void* out = amqp_simple_rpc_decoded(conn_, channel, method, reply, decoded);
  RETURN_IF_ERROR(Check(amqp_get_rpc_reply(conn_), channel,
                        fmt::format("method 0x{:08x}", method)));
  return out;
}

Status AmqpConnection::Send(amqp_channel_t channel, amqp_method_number_t method, void* decoded) {
  int rc = amqp_send_method(conn_, channel, method, decoded);
  if (rc == AMQP_STATUS_OK) return Status::Ok();
  ok_ = false;
  return Unavailable(fmt::format("RabbitMQ send failed: {}", amqp_error_string2(rc)));
}

Status AmqpConnection::Publish(amqp_channel_t channel, const std::string& routing_key,
                               std::string_view body, const amqp_basic_properties_t& props) {
  amqp_bytes_t rk{routing_key.size(), const_cast<char*>(routing_key.data())};
  amqp_bytes_t b{body.size(), const_cast<char*>(body.data())};
  int rc = amqp_basic_publish(conn_, channel, amqp_empty_bytes, rk, 0, 0, &props, b);
  if (rc == AMQP_STATUS_OK) return Status::Ok();
  ok_ = false;
  return Unavailable(fmt::format("RabbitMQ publish failed: {}", amqp_error_string2(rc)));
}

Result<bool> AmqpConnection::NextFrame(amqp_frame_t* frame) {
  timeval zero{0, 0};
  int rc = amqp_simple_wait_frame_noblock(conn_, frame, &zero);
  if (rc == AMQP_STATUS_OK) return true;
  if (rc == AMQP_STATUS_TIMEOUT) return false;
  ok_ = false;
  return Unavailable(fmt::format("RabbitMQ connection lost: {}", amqp_error_string2(rc)));
}

bool AmqpConnection::HasBuffered() const {
  return amqp_data_in_buffer(conn_) || amqp_frames_enqueued(conn_);
}

void AmqpConnection::Cork(bool on) {
  if (on == corked_) return;
  int fd = amqp_get_sockfd(conn_);
  int v = on ? 1 : 0;
  if (fd >= 0) (void)::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
  corked_ = on;
}

void AmqpConnection::ReleaseBuffers() { amqp_maybe_release_buffers(conn_); }

void AmqpConnection::AcknowledgeClose(const amqp_frame_t& frame) {
  if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    amqp_channel_close_ok_t ok{};
    (void)amqp_send_method(conn_, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
  } else if (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    amqp_connection_close_ok_t ok{};
    (void)amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    ok_ = false;
  }
}

}  // namespace inferline::queue
