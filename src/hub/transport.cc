#include "hub/transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <strings.h>

#include <exception>
#include <vector>

namespace inferline::hub {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;

std::string_view ResponseHead::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return {};
}

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
constexpr size_t kChunkBytes = 256 * 1024;

Status ConnectError(const Url& url, error_code ec, std::string_view during) {
  if (ec == beast::error::timeout) {
    return DeadlineExceeded(fmt::format("cannot reach {}: timed out during {}", url.host, during));
  }
  return Unavailable(fmt::format("cannot reach {}: {} failed: {}", url.host, during, ec.message()));
}

// One request and its streamed response on a connected (and, for TLS, handshaken) stream.
template <class Stream>
asio::awaitable<Status> Exchange(Stream& stream, beast::tcp_stream& lowest, const Url& url,
                                 const Headers& headers, const TransportOptions& options,
                                 const HeadCallback& on_head, const BodyCallback& on_body) {
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, url.target, 11};
  req.set(bhttp::field::host, url.HostHeader());
  req.set(bhttp::field::user_agent, options.user_agent);
  req.set(bhttp::field::connection, "close");
  // Byte ranges and sizes refer to the stored bytes, so no content coding.
  req.set(bhttp::field::accept_encoding, "identity");
  for (const auto& [name, value] : headers) req.set(name, value);

  lowest.expires_after(options.read_timeout);
  auto [wec, written] = co_await bhttp::async_write(stream, req, kToken);
  (void)written;
  if (wec) co_return ConnectError(url, wec, "sending the request");

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(64 * 1024);
  lowest.expires_after(options.read_timeout);
  auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kToken);
  (void)hn;
  if (hec) co_return ConnectError(url, hec, "reading the response headers");

  ResponseHead head;
  head.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (parser.content_length()) head.content_length = *parser.content_length();
  Status st = on_head(head);
  if (!st.ok()) co_return st;

  std::vector<char> chunk(kChunkBytes);
  uint64_t received = 0;
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    body.more = true;
    lowest.expires_after(options.read_timeout);
    auto [ec, n] = co_await bhttp::async_read_some(stream, buffer, parser, kToken);
    (void)n;
    if (ec == bhttp::error::need_buffer) ec = {};
    size_t got = chunk.size() - parser.get().body().size;
    if (got > 0) {
      received += got;
      st = on_body(std::string_view(chunk.data(), got));
      if (!st.ok()) co_return st;
    }
    if (ec == beast::error::timeout) {
      co_return DeadlineExceeded(fmt::format("{} stopped sending after {} bytes of the body",
                                             url.host, received));
    }
    if (ec) {
      co_return Unavailable(fmt::format("the connection to {} broke after {} bytes of the body: {}",
                                        url.host, received, ec.message()));
    }
  }
  co_return Status::Ok();
}

asio::awaitable<Status> Run(const Url& url, const Headers& headers,
                            const TransportOptions& options, const HeadCallback& on_head,
                            const BodyCallback& on_body) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  asio::steady_timer timer(ex);
  bool resolve_timed_out = false;
  timer.expires_after(options.connect_timeout);
  timer.async_wait([&resolve_timed_out, &resolver](error_code ec) {
    if (ec) return;  // cancelled: the name resolved in time (the locals may be gone)
    resolve_timed_out = true;
    resolver.cancel();
  });
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, kToken);
  timer.cancel();
  if (rec) {
    if (resolve_timed_out) rec = beast::error::timeout;
    co_return ConnectError(url, rec, "name resolution");
  }

  if (!url.https) {
    beast::tcp_stream stream(ex);
    stream.expires_after(options.connect_timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, kToken);
    (void)ep;
    if (cec) co_return ConnectError(url, cec, "connect");
    co_return co_await Exchange(stream, stream, url, headers, options, on_head, on_body);
  }

  ssl::context tls(ssl::context::tls_client);
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls.set_default_verify_paths();
  if (!options.ca_file.empty()) {
    error_code ec;
    tls.load_verify_file(options.ca_file, ec);
    if (ec) {
      co_return InvalidArgument(
          fmt::format("cannot load CA file {}: {}", options.ca_file, ec.message()));
    }
  }
  tls.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
  // SNI: the Hub's CDN serves many names from one address.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    co_return Internal(fmt::format("cannot set the TLS server name {}", url.host));
  }
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(options.connect_timeout);
  auto [cec, ep] = co_await lowest.async_connect(endpoints, kToken);
  (void)ep;
  if (cec) co_return ConnectError(url, cec, "connect");
  lowest.expires_after(options.connect_timeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kToken);
  if (hec) co_return ConnectError(url, hec, "the TLS handshake");
  co_return co_await Exchange(stream, lowest, url, headers, options, on_head, on_body);
}

}  // namespace

Status Fetch(const Url& url, const Headers& headers, const TransportOptions& options,
             const HeadCallback& on_head, const BodyCallback& on_body) {
  asio::io_context ioc;
  std::optional<Status> result;
  asio::co_spawn(ioc, Run(url, headers, options, on_head, on_body),
                 [&result](std::exception_ptr e, Status st) {
                   if (!e) {
                     result = std::move(st);
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     result = Unavailable(fmt::format("request failed: {}", ex.what()));
                   } catch (...) {
                     result = Internal("request failed with an unknown exception");
                   }
                 });
  ioc.run();
  if (!result) return Internal("request did not complete");
  return *result;
}

}  // namespace inferline::hub
