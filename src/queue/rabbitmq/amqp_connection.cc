#include "queue/rabbitmq/amqp_connection.h"

#include <amqp_tcp_socket.h>
#include <errno.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace inferline::queue {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

constexpr std::chrono::milliseconds kBlockedWriteLimit{60'000};

std::string_view Text(amqp_bytes_t b) {
  return std::string_view(static_cast<const char*>(b.bytes), b.len);
}

void Put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void Put32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void Put64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// One frame: type, channel, payload size, payload, frame end (AMQP 0-9-1 §2.3.5).
void PutFrame(std::string& out, uint8_t type, amqp_channel_t channel, std::string_view payload) {
  out.push_back(static_cast<char>(type));
  Put16(out, channel);
  Put32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
  out.push_back(static_cast<char>(AMQP_FRAME_END));
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
  c->timeout_ = timeout;
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
  RETURN_IF_ERROR(FlushPublishes());
  amqp_channel_open(conn_, channel);
  return Check(amqp_get_rpc_reply(conn_), channel, "channel.open");
}

Result<void*> AmqpConnection::Rpc(amqp_channel_t channel, amqp_method_number_t method,
                                  amqp_method_number_t reply, void* decoded) {
  RETURN_IF_ERROR(FlushPublishes());
  void* out = amqp_simple_rpc_decoded(conn_, channel, method, reply, decoded);
  RETURN_IF_ERROR(Check(amqp_get_rpc_reply(conn_), channel,
                        fmt::format("method 0x{:08x}", method)));
  return out;
}

Status AmqpConnection::Send(amqp_channel_t channel, amqp_method_number_t method, void* decoded) {
  RETURN_IF_ERROR(FlushPublishes());
  int rc = amqp_send_method(conn_, channel, method, decoded);
  if (rc == AMQP_STATUS_OK) return Status::Ok();
  ok_ = false;
  return Unavailable(fmt::format("RabbitMQ send failed: {}", amqp_error_string2(rc)));
}

Status AmqpConnection::Publish(amqp_channel_t channel, const std::string& routing_key,
                               std::string_view body, const amqp_basic_properties_t& props) {
  RETURN_IF_ERROR(QueuePublish(channel, routing_key, body, props));
  return FlushPublishes();
}

Status AmqpConnection::QueuePublish(amqp_channel_t channel, const std::string& routing_key,
                                    std::string_view body, const amqp_basic_properties_t& props) {
  if (!ok_) return Unavailable("RabbitMQ connection lost");
  if (routing_key.size() > 255) {
    return InvalidArgument(fmt::format("RabbitMQ routing key '{}' is longer than 255 bytes",
                                       routing_key));
  }
  const size_t frame_max = static_cast<size_t>(amqp_get_frame_max(conn_));
  // basic.publish: the method id, then its arguments as rabbitmq-c encodes them.
  amqp_basic_publish_t method{};
  method.exchange = amqp_empty_bytes;
  method.routing_key = amqp_bytes_t{routing_key.size(), const_cast<char*>(routing_key.data())};
  scratch_.resize(std::max<size_t>(frame_max, 4096));
  scratch_[0] = static_cast<char>(AMQP_BASIC_PUBLISH_METHOD >> 24);
  scratch_[1] = static_cast<char>(AMQP_BASIC_PUBLISH_METHOD >> 16);
  scratch_[2] = static_cast<char>(AMQP_BASIC_PUBLISH_METHOD >> 8);
  scratch_[3] = static_cast<char>(AMQP_BASIC_PUBLISH_METHOD);
  int n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &method,
                             amqp_bytes_t{scratch_.size() - 4, scratch_.data() + 4});
  if (n < 0) {
    return Internal(fmt::format("encoding basic.publish failed: {}", amqp_error_string2(n)));
  }
  const size_t start = out_.size();
  PutFrame(out_, AMQP_FRAME_METHOD, channel, std::string_view(scratch_.data(), 4 + n));
  // Content header: class, weight 0, body size, then the properties.
  std::string header;
  Put16(header, AMQP_BASIC_CLASS);
  Put16(header, 0);
  Put64(header, body.size());
  n = amqp_encode_properties(AMQP_BASIC_CLASS, const_cast<amqp_basic_properties_t*>(&props),
                             amqp_bytes_t{scratch_.size(), scratch_.data()});
  if (n < 0 || header.size() + static_cast<size_t>(n) + 8 > frame_max) {
    out_.resize(start);
    return InvalidArgument(fmt::format("the message's properties do not fit one AMQP frame ({})",
                                       n < 0 ? amqp_error_string2(n) : "too large"));
  }
  header.append(scratch_.data(), static_cast<size_t>(n));
  PutFrame(out_, AMQP_FRAME_HEADER, channel, header);
  // Body frames of at most frame_max bytes each, frame overhead included.
  const size_t chunk = frame_max - 8;
  for (size_t off = 0; off < body.size(); off += chunk) {
    PutFrame(out_, AMQP_FRAME_BODY, channel, body.substr(off, chunk));
  }
  return Status::Ok();
}

Status AmqpConnection::FlushPublishes() {
  if (out_.empty()) return Status::Ok();
  if (!ok_) {
    out_.clear();
    return Unavailable("RabbitMQ connection lost");
  }
  const int fd = amqp_get_sockfd(conn_);
  size_t off = 0;
  std::string failure;
  while (off < out_.size()) {
    ssize_t n = ::send(fd, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // RabbitMQ stops reading from publishers during a memory or disk alarm: wait it out for a
      // while (rabbitmq-c's own publish waits for ever) before calling the connection dead.
      const auto wait = std::max<std::chrono::milliseconds>(timeout_, kBlockedWriteLimit);
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, static_cast<int>(wait.count()));
      if (r > 0 || (r < 0 && errno == EINTR)) continue;
      failure = r == 0 ? fmt::format("RabbitMQ took no data for {} ms", wait.count())
                       : fmt::format("poll: {}", std::strerror(errno));
      break;
    }
    failure = n == 0 ? std::string("connection closed") : std::strerror(errno);
    break;
  }
  // A partial write leaves a frame cut in half: the connection cannot be used again.
  if (off < out_.size()) ok_ = false;
  out_.clear();
  if (out_.capacity() > (1u << 20)) std::string().swap(out_);
  if (!ok_) return Unavailable(fmt::format("RabbitMQ publish failed: {}", failure));
  return Status::Ok();
}

Result<bool> AmqpConnection::NextFrame(amqp_frame_t* frame) {
  RETURN_IF_ERROR(FlushPublishes());  // a heartbeat may go out from here
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

void AmqpConnection::ReleaseBuffers() { amqp_maybe_release_buffers(conn_); }

void AmqpConnection::AcknowledgeClose(const amqp_frame_t& frame) {
  (void)FlushPublishes();
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
