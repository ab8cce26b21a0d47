#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <thread>

#include "http/async_signal.h"
#include "http/http_client.h"
#include "http/request_context.h"
#include "http/sse_parser.h"
#include "http/sse_writer.h"
#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using boost::beast::http::status;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using testing::TestServer;

// What the server side of these tests shares with the test body.
struct ServerState {
  AsyncSignal first_seen;              // the client got the first event
  std::atomic<bool> client_gone{false};  // a streaming handler noticed the client leave
};

asio::awaitable<void> Sleep(RequestContext& ctx, std::chrono::milliseconds d) {
  asio::steady_timer timer(ctx.executor(), d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

Router StreamingRouter(ServerState& state) {
  Router router;
  // Sends one event, waits until the client says it has it, then sends two more: a client that
  // did not hand over pieces as they arrive would wait forever (and hit its idle timeout).
  router.Add(verb::get, "/lockstep", [&state](RequestContext& ctx) -> asio::awaitable<void> {
    SseWriter sse(ctx);
    uint64_t seen = state.first_seen.epoch();
    if (!co_await sse.Start() || !co_await sse.SendData("one")) co_return;
    co_await state.first_seen.WaitFor(seen, 5s);
    if (!co_await sse.SendData("two")) co_return;
    (void)co_await sse.SendData("three");
  });
  // Sends one event, then stays silent until the client goes away (or 5 s pass).
  router.Add(verb::get, "/stall-body", [&state](RequestContext& ctx) -> asio::awaitable<void> {
    SseWriter sse(ctx);
    if (!co_await sse.Start() || !co_await sse.SendData("one")) co_return;
    AsyncSignal never;
    AsyncSignal::WaitResult r = co_await never.WaitFor(never.epoch(), 5s);
    if (r == AsyncSignal::WaitResult::kCancelled && ctx.stopping()) state.client_gone = true;
  });
  router.Add(verb::get, "/stall-headers", [](RequestContext& ctx) -> asio::awaitable<void> {
    co_await Sleep(ctx, 1500ms);
    ctx.Text(status::ok, "late");
  });
  router.Add(verb::post, "/echo", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.SetHeader("Retry-After", "3");
    ctx.Text(status::service_unavailable, "busy: " + ctx.body());
    co_return;
  });
  return router;
}

template <class T>
T RunToEnd(asio::io_context& ioc, asio::awaitable<T> coroutine) {
  auto future = asio::co_spawn(ioc, std::move(coroutine), asio::use_future);
  ioc.restart();
  ioc.run();
  return future.get();
}

// Result<T> has no default constructor, which asio's futures need: the outcome as a pair.
struct Outcome {
  Status status;
  StreamSummary summary;
  bool ok() const { return status.ok(); }
  const StreamSummary* operator->() const { return &summary; }
};

Outcome Stream(asio::io_context& ioc, HttpClient& client, ClientRequest request,
               StreamOptions options, StreamHandlers handlers) {
  return RunToEnd(ioc, [&]() -> asio::awaitable<Outcome> {
    Result<StreamSummary> r = co_await client.SendStreaming(request, options, handlers);
    if (!r.ok()) co_return Outcome{r.status(), {}};
    co_return Outcome{Status::Ok(), *r};
  }());
}

std::string Url(const TestServer& server, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
}

ClientRequest Get(std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  return r;
}

StreamOptions ShortTimeouts() {
  StreamOptions o;
  o.connect_timeout = 2s;
  o.header_timeout = 2s;
  o.idle_timeout = 2s;
  return o;
}

TEST(HttpClientStreamingTest, HandsOverEachPieceAsItArrives) {
  ServerState state;
  TestServer server(StreamingRouter(state));
  asio::io_context ioc;
  HttpClient client;
  SseParser parser;
  std::vector<SseEvent> events;
  unsigned head_status = 0;
  std::string content_type;
  StreamHandlers handlers;
  handlers.on_headers = [&](const ResponseHead& head) {
    head_status = head.result_int();
    content_type = std::string(head[boost::beast::http::field::content_type]);
    return true;
  };
  handlers.on_body = [&](std::string_view piece) {
    EXPECT_TRUE(parser.Feed(piece, &events).ok());
    if (events.size() == 1) state.first_seen.Notify();
    return true;
  };
  Outcome r = Stream(ioc, client, Get(Url(server, "/lockstep")), ShortTimeouts(), handlers);
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(r->complete);
  EXPECT_GT(r->body_bytes, 0u);
  EXPECT_EQ(head_status, 200u);
  EXPECT_EQ(content_type, "text/event-stream");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "one");
  EXPECT_EQ(events[2].data, "three");
}

TEST(HttpClientStreamingTest, AnErrorStatusStreamsItsBodyAndTheConnectionIsReused) {
  ServerState state;
  TestServer server(StreamingRouter(state));
  asio::io_context ioc;
  HttpClient client;
  auto outcome = RunToEnd(ioc, [&]() -> asio::awaitable<std::string> {
    std::string out;
    for (int i = 0; i < 2; ++i) {
      ClientRequest req;
      req.method = verb::post;
      req.url = Url(server, "/echo");
      req.body = "x" + std::to_string(i);
      std::string retry_after, body;
      StreamHandlers h;
      h.on_headers = [&](const ResponseHead& head) {
        retry_after = std::string(head["Retry-After"]);
        return true;
      };
      h.on_body = [&](std::string_view piece) {
        body.append(piece);
        return true;
      };
      Result<StreamSummary> r = co_await client.SendStreaming(req, ShortTimeouts(), h);
      if (!r.ok()) co_return r.status().ToString();
      out += std::to_string(r->status) + " " + retry_after + " " + body + "|";
    }
    co_return out;
  }());
  EXPECT_EQ(outcome, "503 3 busy: x0|503 3 busy: x1|");
  EXPECT_EQ(client.idle_connections(), 1u);
  EXPECT_NE(server.registry().Render().find("inferline_http_connections_accepted_total 1\n"),
            std::string::npos);
}

TEST(HttpClientStreamingTest, SilenceBeforeHeadersOrWithinTheBodyTimesOut) {
  ServerState state;
  TestServer server(StreamingRouter(state));
  asio::io_context ioc;
  HttpClient client;
  StreamOptions options = ShortTimeouts();
  options.header_timeout = 100ms;
  Outcome headers = Stream(ioc, client, Get(Url(server, "/stall-headers")), options, {});
  EXPECT_EQ(headers.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(headers.status.message().find("response headers"), std::string::npos)
      << headers.status.message();

  options = ShortTimeouts();
  options.idle_timeout = 100ms;
  std::string body;
  StreamHandlers h;
  h.on_body = [&](std::string_view piece) {
    body.append(piece);
    return true;
  };
  Outcome idle = Stream(ioc, client, Get(Url(server, "/stall-body")), options, h);
  EXPECT_EQ(idle.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(idle.status.message().find("response body"), std::string::npos);
  EXPECT_EQ(body, "data: one\n\n");

  options = ShortTimeouts();
  options.deadline = std::chrono::steady_clock::now() + 150ms;
  Outcome deadline = Stream(ioc, client, Get(Url(server, "/stall-body")), options, {});
  EXPECT_EQ(deadline.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(deadline.status.message().find("deadline"), std::string::npos);
}

TEST(HttpClientStreamingTest, AbortFromAnotherThreadClosesTheConnection) {
  ServerState state;
  TestServer server(StreamingRouter(state));
  asio::io_context ioc;
  HttpClient client;
  AbortSignal abort;
  StreamOptions options = ShortTimeouts();
  options.idle_timeout = 10s;  // only the abort may end it
  options.abort = &abort;
  std::atomic<bool> got_first{false};
  StreamHandlers h;
  h.on_body = [&](std::string_view) {
    got_first = true;
    return true;
  };
  std::thread aborter([&] {
    while (!got_first) std::this_thread::sleep_for(1ms);
    abort.Abort();
  });
  Outcome r = Stream(ioc, client, Get(Url(server, "/stall-body")), options, h);
  aborter.join();
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled) << r.status.ToString();
  // The server notices the client leave (its wait is cut short, long before 5 s).
  for (int i = 0; i < 400 && !state.client_gone; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(state.client_gone);
  // An aborted signal stops the next call before it is sent.
  Outcome again = Stream(ioc, client, Get(Url(server, "/lockstep")), options, h);
  EXPECT_EQ(again.status.code(), StatusCode::kCancelled);
}

TEST(HttpClientStreamingTest, AHandlerCanStopTheBody) {
  ServerState state;
  TestServer server(StreamingRouter(state));
  asio::io_context ioc;
  HttpClient client;
  StreamHandlers h;
  h.on_body = [](std::string_view) { return false; };
  Outcome r = Stream(ioc, client, Get(Url(server, "/stall-body")), ShortTimeouts(), h);
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST(HttpClientStreamingTest, RefusedConnectionIsUnavailable) {
  uint16_t port;
  {
    ServerState state;
    TestServer server(StreamingRouter(state));
    port = server.port();
  }
  asio::io_context ioc;
  HttpClient client;
  Outcome r = Stream(ioc, client, Get("http://127.0.0.1:" + std::to_string(port) + "/x"),
                     ShortTimeouts(), {});
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
}

}  // namespace
}  // namespace inferline::http
