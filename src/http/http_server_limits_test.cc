// Size limits, malformed input and read timeouts, with the test-shortened options.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <string>

#include "http/http_server.h"
#include "http/request_context.h"
#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using boost::beast::http::status;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using testing::RawClient;
using testing::TestServer;

Router EchoRouter() {
  Router router;
  router.Add(verb::post, "/echo", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::ok, std::to_string(ctx.body().size()));
    co_return;
  });
  router.Add(verb::get, "/hello", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::ok, "hi");
    co_return;
  });
  return router;
}

std::string ErrorCode(const testing::RawResponse& res) {
  return std::string(boost::json::parse(res.body()).at("error").at("code").as_string());
}

TEST(HttpServerLimitsTest, TwoMegabyteBodyIs413) {
  TestServer server(EchoRouter());  // default limit: 1 MiB
  RawClient client(server.port());
  std::string body(2 * 1024 * 1024, 'x');
  client.Send(fmt::format("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{}",
                          body.size(), body));
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::payload_too_large);
  EXPECT_EQ(ErrorCode(*res), "body_too_large");
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerLimitsTest, ChunkedBodyOverConfiguredLimitIs413) {
  HttpServerOptions options = TestServer::Options();
  options.max_body_bytes = 10;
  TestServer server(EchoRouter(), options);
  auto ok = testing::Fetch(server.port(), "POST", "/echo", "0123456789");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "10");
  RawClient client(server.port());
  client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n");
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::payload_too_large);
}

TEST(HttpServerLimitsTest, SixtyFourKilobyteHeaderIs431) {
  TestServer server(EchoRouter());
  RawClient client(server.port());
  client.Send(fmt::format("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                          std::string(64 * 1024, 'a')));
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::request_header_fields_too_large);
  EXPECT_EQ((*res)["Content-Type"], "application/json");
  EXPECT_EQ(ErrorCode(*res), "header_too_large");
}

TEST(HttpServerLimitsTest, MalformedRequestLineIs400ThenClose) {
  TestServer server(EchoRouter());
  RawClient client(server.port());
  client.Send("THIS IS NOT HTTP\r\n\r\n");
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::bad_request);
  EXPECT_EQ(ErrorCode(*res), "bad_request");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerLimitsTest, MalformedTargetIs400) {
  TestServer server(EchoRouter());
  auto res = testing::Fetch(server.port(), "GET", "/bad%zzpath");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::bad_request);
}

// Sends `bytes` one at a time, 100 ms apart, until the server answers or closes. Returns how
// many bytes went out before the server reacted.
size_t Trickle(RawClient& client, std::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!client.Send(bytes.substr(i, 1))) return i;
    if (!client.ReadFor(100ms) || !client.unconsumed().empty()) return i + 1;
  }
  return bytes.size();
}

TEST(HttpServerLimitsTest, HeaderTrickledOneByteAtATimeIsCutOff) {
  HttpServerOptions options = TestServer::Options();
  options.header_timeout = 300ms;
  TestServer server(EchoRouter(), options);
  RawClient client(server.port());
  // 45 bytes at 100 ms each would take 4.5 s; the 300 ms header deadline must end it long before.
  std::string request = "GET /hello HTTP/1.1\r\nHost: x\r\nA: bbbbbbbbbbbb\r\n\r\n";
  size_t sent = Trickle(client, request);
  EXPECT_LT(sent, request.size());
  EXPECT_TRUE(client.unconsumed().empty()) << client.unconsumed();  // closed, not answered
  EXPECT_TRUE(client.WaitForClose());
  server.server().Shutdown(0ms);
  server.server().Wait();  // the 408 is recorded just after the close
  EXPECT_NE(server.registry().Render().find(
                "http_requests_total{route=\"unmatched\",code=\"408\"} 1"),
            std::string::npos);
}

TEST(HttpServerLimitsTest, BodyTrickledOneByteAtATimeIsCutOff) {
  HttpServerOptions options = TestServer::Options();
  options.body_timeout = 300ms;
  TestServer server(EchoRouter(), options);
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"));
  size_t sent = Trickle(client, std::string(40, 'z'));
  EXPECT_LT(sent, 40u);
  EXPECT_TRUE(client.unconsumed().empty()) << client.unconsumed();
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerLimitsTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options = TestServer::Options();
  options.idle_timeout = 200ms;
  TestServer server(EchoRouter(), options);
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->keep_alive());
  EXPECT_TRUE(client.WaitForClose());  // within the client's 5 s deadline
}

}  // namespace
}  // namespace inferline::http
