#include "http/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <fmt/format.h>

#include <thread>

#include "http/request_context.h"
#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using boost::beast::http::status;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using testing::TestServer;

Router ServerRouter() {
  Router router;
  router.Add(verb::get, "/hello", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::ok, "hello " + ctx.query("name").value_or("?"));
    co_return;
  });
  router.Add(verb::post, "/echo", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::created, std::string(ctx.header("Content-Type")) + " " + ctx.body());
    co_return;
  });
  router.Add(verb::get, "/slow", [](RequestContext& ctx) -> asio::awaitable<void> {
    asio::steady_timer timer(ctx.executor(), 1500ms);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    ctx.Text(status::ok, "late");
  });
  return router;
}

// Runs one coroutine to completion on `ioc`. A client's pooled connections belong to the
// io_context they were opened on, so each test declares its io_context before its client.
template <class T>
T RunToEnd(asio::io_context& ioc, asio::awaitable<T> coroutine) {
  auto future = asio::co_spawn(ioc, std::move(coroutine), asio::use_future);
  ioc.restart();
  ioc.run();
  return future.get();
}

std::string Url(const TestServer& server, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
}

TEST(HttpClientTest, ParsesUrls) {
  auto t = HttpClient::ParseUrl("http://example.com:8000/v1/models?x=1#frag");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "example.com");
  EXPECT_EQ(t->port, "8000");
  EXPECT_EQ(t->target, "/v1/models?x=1");
  auto bare = HttpClient::ParseUrl("http://example.com");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, "80");
  EXPECT_EQ(bare->target, "/");
  EXPECT_EQ(HttpClient::ParseUrl("https://example.com/").status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(HttpClient::ParseUrl("ftp://example.com/").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpClient::ParseUrl("not a url").status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpClientTest, GetAndPostAndReuseTheConnection) {
  TestServer server(ServerRouter());
  asio::io_context ioc;
  HttpClient client;
  auto body = RunToEnd(ioc, [&]() -> asio::awaitable<std::string> {
    Result<ClientResponse> get = co_await client.Get(Url(server, "/hello?name=bob"));
    if (!get.ok()) co_return get.status().ToString();
    size_t idle_after_first = client.idle_connections();
    Result<ClientResponse> post = co_await client.PostJson(Url(server, "/echo"), R"({"a":1})");
    if (!post.ok()) co_return post.status().ToString();
    co_return fmt::format("{}|{}|{}|{}|{}", get->body(), idle_after_first, post->result_int(),
                          post->body(), client.idle_connections());
  }());
  EXPECT_EQ(body, "hello bob|1|201|application/json {\"a\":1}|1");
  // Both requests went over one connection: the server saw a single one.
  std::string metrics = server.registry().Render();
  EXPECT_NE(metrics.find("inferline_http_connections_accepted_total 1\n"), std::string::npos)
      << metrics;
}

TEST(HttpClientTest, RetriesWhenThePooledConnectionWasClosed) {
  HttpServerOptions options = TestServer::Options();
  options.idle_timeout = 50ms;
  TestServer server(ServerRouter(), options);
  asio::io_context ioc;
  HttpClient client;
  auto outcome = RunToEnd(ioc, [&]() -> asio::awaitable<std::string> {
    Result<ClientResponse> first = co_await client.Get(Url(server, "/hello?name=1"));
    asio::steady_timer pause(co_await asio::this_coro::executor, 300ms);
    co_await pause.async_wait(asio::use_awaitable);  // the server drops the idle connection
    Result<ClientResponse> second = co_await client.Get(Url(server, "/hello?name=2"));
    co_return (first.ok() ? first->body() : first.status().ToString()) + "|" +
        (second.ok() ? second->body() : second.status().ToString());
  }());
  EXPECT_EQ(outcome, "hello 1|hello 2");
  std::string metrics = server.registry().Render();
  EXPECT_NE(metrics.find("inferline_http_connections_accepted_total 2\n"), std::string::npos)
      << metrics;
}

TEST(HttpClientTest, TimeoutIsDeadlineExceeded) {
  TestServer server(ServerRouter());
  asio::io_context ioc;
  HttpClient client;
  auto code = RunToEnd(ioc, [&]() -> asio::awaitable<StatusCode> {
    ClientRequest request;
    request.url = Url(server, "/slow");
    request.timeout = 100ms;
    Result<ClientResponse> res = co_await client.Send(std::move(request));
    co_return res.status().code();
  }());
  EXPECT_EQ(code, StatusCode::kDeadlineExceeded);
}

TEST(HttpClientTest, RefusedConnectionIsUnavailable) {
  uint16_t port;
  {
    TestServer server(ServerRouter());
    port = server.port();
  }  // closed: nothing listens there now
  asio::io_context ioc;
  HttpClient client;
  auto status = RunToEnd(ioc, [&]() -> asio::awaitable<Status> {
    Result<ClientResponse> res =
        co_await client.Get("http://127.0.0.1:" + std::to_string(port) + "/");
    co_return res.status();
  }());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
}

}  // namespace
}  // namespace inferline::http
