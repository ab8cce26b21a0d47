// Graceful shutdown: in-flight requests finish, idle connections and event streams end, and
// what outlives the grace period is force-closed.
#include "http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <future>

#include "http/async_signal.h"
#include "http/request_context.h"
#include "http/sse_writer.h"
#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using boost::beast::http::status;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using testing::RawClient;

// A server owned by the test (not TestServer) so the test decides when and how it shuts down.
struct Harness {
  explicit Harness(Router router) : server(testing::TestServer::Options(), std::move(router), registry) {
    Status status = server.Start();
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  metrics::Registry registry;
  HttpServer server;
};

// Handler that signals `entered` and then sleeps `duration` on a timer.
Handler Sleeper(std::promise<void>* entered, std::chrono::milliseconds duration) {
  return [entered, duration](RequestContext& ctx) -> asio::awaitable<void> {
    entered->set_value();
    asio::steady_timer timer(ctx.executor(), duration);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    ctx.Text(status::ok, "done");
  };
}

TEST(HttpServerShutdownTest, SlowRequestFinishesThenServerStops) {
  std::promise<void> entered;
  Router router;
  router.Add(verb::get, "/slow", Sleeper(&entered, 300ms));
  Harness h(std::move(router));
  RawClient client(h.server.port());
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);

  h.server.Shutdown(5000ms);
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_EQ(res->body(), "done");
  EXPECT_FALSE(res->keep_alive());  // no further requests once shutting down
  EXPECT_TRUE(client.WaitForClose());
  h.server.Wait();
  RawClient late(h.server.port());
  EXPECT_FALSE(late.connected() && late.Send("GET / HTTP/1.1\r\n\r\n") && late.ReadResponse());
}

TEST(HttpServerShutdownTest, IdleKeepAliveConnectionIsClosedAtOnce) {
  Router router;
  router.Add(verb::get, "/hi", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::ok, "hi");
    co_return;
  });
  Harness h(std::move(router));
  RawClient client(h.server.port());
  ASSERT_TRUE(client.Send("GET /hi HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadResponse());
  // The grace period (60 s) is far longer than the client's 5 s deadline: only closing idle
  // connections at the start of shutdown lets WaitForClose succeed.
  h.server.Shutdown(60'000ms);
  EXPECT_TRUE(client.WaitForClose());
  h.server.Wait();
}

TEST(HttpServerShutdownTest, EventStreamObservesShutdownAndEnds) {
  AsyncSignal never_notified;
  Router router;
  router.Add(verb::get, "/events", [&](RequestContext& ctx) -> asio::awaitable<void> {
    SseWriter sse(ctx);
    if (!co_await sse.Start()) co_return;
    (void)co_await sse.Send("queued", "1", "{}");
    while (!ctx.stopping()) co_await never_notified.Wait(30s);
    (void)co_await sse.Send("shutdown", "2", "{}");
  });
  Harness h(std::move(router));
  RawClient client(h.server.port());
  ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("event: queued"));
  h.server.Shutdown(60'000ms);
  EXPECT_TRUE(client.ReadUntil("event: shutdown\nid: 2\ndata: {}\n\n"));
  EXPECT_TRUE(client.ReadUntil("\r\n0\r\n\r\n"));
  EXPECT_TRUE(client.WaitForClose());
  h.server.Wait();
}

TEST(HttpServerShutdownTest, RequestOutlivingGraceIsForceClosed) {
  std::promise<void> entered;
  Router router;
  router.Add(verb::get, "/stuck", Sleeper(&entered, 60'000ms));
  Harness h(std::move(router));
  RawClient client(h.server.port());
  ASSERT_TRUE(client.Send("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  h.server.Shutdown(100ms);
  EXPECT_TRUE(client.WaitForClose());
  h.server.Wait();
}

TEST(HttpServerShutdownTest, HandlerCanRequestShutdown) {
  Harness* self = nullptr;
  Router router;
  router.Add(verb::post, "/quit", [&self](RequestContext& ctx) -> asio::awaitable<void> {
    self->server.Shutdown(1000ms);
    ctx.Text(status::ok, "bye");
    co_return;
  });
  Harness h(std::move(router));
  self = &h;
  auto res = testing::Fetch(h.server.port(), "POST", "/quit");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "bye");
  h.server.Wait();
  EXPECT_TRUE(h.server.stopping());
}

}  // namespace
}  // namespace inferline::http
