// Routing, responses, keep-alive and handler failures over real sockets on 127.0.0.1.
#include "http/http_server.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "common/log.h"
#include "http/request_context.h"
#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using boost::beast::http::status;
using boost::beast::http::verb;
using testing::Fetch;
using testing::RawClient;
using testing::TestServer;

boost::json::value JsonOf(const testing::RawResponse& res) { return boost::json::parse(res.body()); }

Router MakeRouter() {
  Router router;
  router.Add(verb::get, "/hello", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Json(status::ok, {{"hello", "world"}});
    co_return;
  });
  router.Add(verb::post, "/echo", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::ok, ctx.body(), "application/octet-stream");
    co_return;
  });
  router.Add(verb::get, "/v1/requests/{id}/events/{n}",
             [](RequestContext& ctx) -> asio::awaitable<void> {
               ctx.Json(status::ok, {{"id", ctx.param("id")},
                                     {"n", ctx.param("n")},
                                     {"after", ctx.query("after").value_or("<none>")},
                                     {"flag", ctx.query("flag").has_value()},
                                     {"route", ctx.route()}});
               co_return;
             });
  router.Add(verb::get, "/request-id", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.Text(status::ok, ctx.request_id());
    co_return;
  });
  router.Add(verb::get, "/throws", [](RequestContext&) -> asio::awaitable<void> {
    throw std::runtime_error("boom");
    co_return;
  });
  router.Add(verb::get, "/quota", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.SetHeader("Retry-After", "7");
    ctx.SetHeader("x-ratelimit-remaining-tokens", "0");
    ctx.Error(ResourceExhausted("daily token quota exceeded"));
    co_return;
  });
  router.Add(verb::delete_, "/nothing", [](RequestContext&) -> asio::awaitable<void> {
    co_return;
  });
  router.Add(verb::post, "/annotated", [](RequestContext& ctx) -> asio::awaitable<void> {
    ctx.AnnotateLog("generation", "gen-42");
    ctx.Json(status::accepted, {{"ok", true}});
    co_return;
  });
  return router;
}

TEST(HttpServerTest, AnswersJsonWithRequestIdAndDate) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "GET", "/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_EQ((*res)["Content-Type"], "application/json");
  EXPECT_EQ(JsonOf(*res).at("hello").as_string(), "world");
  EXPECT_TRUE((*res)["x-request-id"].starts_with("req_"));
  EXPECT_FALSE((*res)["Date"].empty());
}

TEST(HttpServerTest, PostBodyReachesHandler) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "POST", "/echo", "payload \x01\x02 bytes");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "payload \x01\x02 bytes");
}

TEST(HttpServerTest, PathAndQueryParametersAreDecoded) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "GET", "/v1/requests/req%2F1%20x/events/5?after=a%26b&flag");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->result(), status::ok);
  auto json = JsonOf(*res);
  EXPECT_EQ(json.at("id").as_string(), "req/1 x");
  EXPECT_EQ(json.at("n").as_string(), "5");
  EXPECT_EQ(json.at("after").as_string(), "a&b");
  EXPECT_EQ(json.at("flag").as_bool(), true);
  EXPECT_EQ(json.at("route").as_string(), "/v1/requests/{id}/events/{n}");
}

TEST(HttpServerTest, EchoesSaneRequestIdAndReplacesOthers) {
  TestServer server(MakeRouter());
  auto sane = Fetch(server.port(), "GET", "/request-id", {}, "X-Request-Id: client-42.a_b\r\n");
  ASSERT_TRUE(sane);
  EXPECT_EQ(sane->body(), "client-42.a_b");
  EXPECT_EQ((*sane)["x-request-id"], "client-42.a_b");
  auto insane = Fetch(server.port(), "GET", "/request-id", {}, "X-Request-Id: a b\"c\r\n");
  ASSERT_TRUE(insane);
  EXPECT_TRUE(insane->body().starts_with("req_"));
}

TEST(HttpServerTest, TheAccessLogLineCarriesTheHandlersAnnotations) {
  // The access log goes to stderr: catch it in a file for the length of one request.
  log::Init(log::Format::kJson, log::Level::kInfo);
  std::FILE* capture = std::tmpfile();
  ASSERT_NE(capture, nullptr);
  log::Flush();
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(dup2(fileno(capture), STDERR_FILENO), 0);
  {
    HttpServerOptions o = TestServer::Options();
    o.access_log = true;
    TestServer server(MakeRouter(), o);
    auto res = Fetch(server.port(), "POST", "/annotated", "{}");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), status::accepted);
  }
  log::Flush();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::rewind(capture);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, capture)) > 0;) text.append(buf, n);
  std::fclose(capture);
  EXPECT_NE(text.find("http POST /annotated route=/annotated status=202"), std::string::npos)
      << text;
  EXPECT_NE(text.find("generation=gen-42"), std::string::npos) << text;
}

TEST(HttpServerTest, UnknownRouteIsJson404) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "GET", "/v1/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::not_found);
  auto json = JsonOf(*res);
  EXPECT_EQ(json.at("error").at("type").as_string(), "invalid_request_error");
  EXPECT_NE(json.at("error").at("message").as_string().find("/v1/nope"), std::string::npos);
}

TEST(HttpServerTest, WrongMethodIs405WithAllow) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "PUT", "/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::method_not_allowed);
  EXPECT_EQ((*res)["Allow"], "GET, HEAD, OPTIONS");
  EXPECT_EQ(JsonOf(*res).at("error").at("code").as_string(), "method_not_allowed");
}

TEST(HttpServerTest, HeadSendsHeadersOnlyAndOptionsListsMethods) {
  TestServer server(MakeRouter());
  auto head = Fetch(server.port(), "HEAD", "/hello");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->result(), status::ok);
  EXPECT_EQ((*head)["Content-Length"], "17");  // {"hello":"world"}
  EXPECT_TRUE(head->body().empty());
  auto options = Fetch(server.port(), "OPTIONS", "/hello");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->result(), status::no_content);
  EXPECT_EQ((*options)["Allow"], "GET, HEAD, OPTIONS");
}

TEST(HttpServerTest, OptionsHookAnswersPreflight) {
  Router router = MakeRouter();
  router.SetOptionsHook([](RequestContext& ctx, std::string_view allow) -> asio::awaitable<void> {
    ctx.SetHeader("Access-Control-Allow-Methods", allow);
    ctx.SetHeader("Access-Control-Allow-Origin", "*");
    co_return;
  });
  TestServer server(std::move(router));
  auto res = Fetch(server.port(), "OPTIONS", "/echo");
  ASSERT_TRUE(res);
  EXPECT_EQ((*res)["Access-Control-Allow-Methods"], "POST, OPTIONS");
  EXPECT_EQ((*res)["Access-Control-Allow-Origin"], "*");
}

TEST(HttpServerTest, ErrorStatusCarriesExtraHeaders) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "GET", "/quota");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::too_many_requests);
  EXPECT_EQ((*res)["Retry-After"], "7");
  EXPECT_EQ((*res)["x-ratelimit-remaining-tokens"], "0");
  EXPECT_EQ(JsonOf(*res).at("error").at("type").as_string(), "rate_limit_exceeded");
}

TEST(HttpServerTest, HandlerThatSetsNothingAnswers204) {
  TestServer server(MakeRouter());
  auto res = Fetch(server.port(), "DELETE", "/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::no_content);
}

TEST(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  TestServer server(MakeRouter());
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.ReadResponse();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->result(), status::ok);
  EXPECT_TRUE(first->keep_alive());
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto second = client.ReadResponse();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body(), "abc");
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer server(MakeRouter());
  RawClient client(server.port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n2"));
  auto first = client.ReadResponse();
  auto second = client.ReadResponse();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body(), "1");
  EXPECT_EQ(second->body(), "2");
}

// A request whose header arrived alone: parsed as it comes (header, then 100 Continue, then
// the body), and the next request on the connection arrives whole and is parsed at once.
TEST(HttpServerTest, ExpectContinueThenAWholeRequestOnOneConnection) {
  TestServer server(MakeRouter());
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("HTTP/1.1 100 Continue\r\n\r\n"));
  ASSERT_TRUE(client.Send("hello"));
  std::string_view interim = client.unconsumed();
  ASSERT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u);
  ASSERT_TRUE(client.ReadUntil("hello"));
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  ASSERT_TRUE(client.ReadUntil("abc"));
  const std::string all(client.unconsumed());
  EXPECT_NE(all.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_LT(all.find("hello"), all.find("abc"));
}

TEST(HttpServerTest, ThrowingHandlerIs500AndServerKeepsServing) {
  TestServer server(MakeRouter());
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = client.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::internal_server_error);
  auto json = JsonOf(*res);
  EXPECT_EQ(json.at("error").at("type").as_string(), "server_error");
  EXPECT_TRUE((*res)["x-request-id"].starts_with("req_"));
  // The same connection and a fresh one both still work.
  ASSERT_TRUE(client.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = client.ReadResponse();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result(), status::ok);
  auto fresh = Fetch(server.port(), "GET", "/hello");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->result(), status::ok);
}

TEST(HttpServerTest, SecondServerOnTakenPortFailsToStart) {
  TestServer first(MakeRouter());
  HttpServerOptions options = TestServer::Options();
  options.port = first.port();
  metrics::Registry registry;
  HttpServer second(options, MakeRouter(), registry);
  Status status = second.Start();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  second.Wait();  // returns at once: nothing was started
}

}  // namespace
}  // namespace inferline::http
