// Event-stream framing, end of stream, and noticing a client that went away.
#include "http/sse_writer.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <future>

#include "http/async_signal.h"
#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

namespace asio = boost::asio;
using boost::beast::http::status;
using boost::beast::http::verb;
using namespace std::chrono_literals;
using testing::RawClient;
using testing::TestServer;

TEST(SseFormatTest, EventIdRetryAndMultiLineData) {
  EXPECT_EQ(SseWriter::Format("token", "7", "line1\nline2\r\nline3\rline4", 1500ms),
            "event: token\nid: 7\nretry: 1500\n"
            "data: line1\ndata: line2\ndata: line3\ndata: line4\n\n");
}

TEST(SseFormatTest, OpenAiStyleDataOnly) {
  EXPECT_EQ(SseWriter::Format({}, {}, R"({"choices":[]})", std::nullopt),
            "data: {\"choices\":[]}\n\n");
  EXPECT_EQ(SseWriter::Format({}, {}, "[DONE]", std::nullopt), "data: [DONE]\n\n");
}

TEST(SseFormatTest, EmptyDataAndTrailingNewline) {
  EXPECT_EQ(SseWriter::Format("ping", {}, "", std::nullopt), "event: ping\ndata: \n\n");
  EXPECT_EQ(SseWriter::Format({}, {}, "a\n", std::nullopt), "data: a\n\n");
  EXPECT_EQ(SseWriter::Format({}, {}, "a\n\nb", std::nullopt), "data: a\ndata: \ndata: b\n\n");
}

TEST(SseFormatTest, LineBreaksCannotInjectFields) {
  EXPECT_EQ(SseWriter::Format("a\nevent: b", "1\r\nid: 2", "x", std::nullopt),
            "event: a event: b\nid: 1  id: 2\ndata: x\n\n");
  EXPECT_EQ(SseWriter::FormatComment("keep-alive"), ": keep-alive\n\n");
  EXPECT_EQ(SseWriter::FormatComment("a\nb"), ": a\n: b\n\n");
}

Router StreamingRouter() {
  Router router;
  router.Add(verb::get, "/stream", [](RequestContext& ctx) -> asio::awaitable<void> {
    SseWriter sse(ctx);
    if (!co_await sse.Start()) co_return;
    if (!co_await sse.Comment("keep-alive")) co_return;
    if (!co_await sse.Send("token", "1", "line1\nline2", 1500ms)) co_return;
    if (!co_await sse.SendData(R"({"a":1})")) co_return;
    (void)co_await sse.SendData("[DONE]");
  });
  return router;
}

constexpr std::string_view kExpectedEvents =
    ": keep-alive\n\n"
    "event: token\nid: 1\nretry: 1500\ndata: line1\ndata: line2\n\n"
    "data: {\"a\":1}\n\n"
    "data: [DONE]\n\n";

TEST(SseWriterTest, ChunkedStreamReadByRawClient) {
  TestServer server(StreamingRouter());
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.1\r\nHost: x\r\nX-Request-Id: sse-1\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("\r\n0\r\n\r\n"));  // the last chunk ends the body
  std::string_view raw = client.unconsumed();
  size_t header_end = raw.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string_view::npos);
  std::string head(raw.substr(0, header_end));
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
  EXPECT_NE(head.find("Cache-Control: no-cache"), std::string::npos);
  EXPECT_NE(head.find("X-Accel-Buffering: no"), std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(head.find("x-request-id: sse-1"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  EXPECT_EQ(testing::DecodeChunks(raw.substr(header_end + 4)), kExpectedEvents);
  EXPECT_TRUE(client.WaitForClose());
}

TEST(SseWriterTest, Http10ClientGetsUnframedStreamEndedByClose) {
  TestServer server(StreamingRouter());
  RawClient client(server.port());
  ASSERT_TRUE(client.Send("GET /stream HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(client.ReadUntil("data: [DONE]\n\n"));
  std::string raw(client.unconsumed());
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_TRUE(raw.ends_with(std::string("\r\n\r\n").append(kExpectedEvents))) << raw;
  EXPECT_TRUE(client.WaitForClose());
}

TEST(SseWriterTest, ClientDisconnectInterruptsAWaitingHandler) {
  AsyncSignal never_notified;
  std::promise<std::string> outcome;
  Router router;
  router.Add(verb::get, "/events", [&](RequestContext& ctx) -> asio::awaitable<void> {
    SseWriter sse(ctx);
    if (!co_await sse.Start() || !co_await sse.Send("queued", "1", "{}")) {
      outcome.set_value("first event failed");
      co_return;
    }
    // Waits for an event that never comes; only the client going away can end this early.
    AsyncSignal::WaitResult r = co_await never_notified.Wait(30s);
    bool sent = co_await sse.Comment("after wait");
    outcome.set_value(fmt::format("wait={} stopping={} ok={} sent={}", static_cast<int>(r),
                                  ctx.stopping(), sse.ok(), sent));
  });
  TestServer server(std::move(router));
  {
    RawClient client(server.port());
    ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(client.ReadUntil("event: queued"));
  }  // the client closes here
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready) << "disconnect not detected";
  EXPECT_EQ(future.get(), "wait=2 stopping=true ok=false sent=false");
}

}  // namespace
}  // namespace inferline::http
