#include "http/standard_routes.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "http/testing/test_server.h"

namespace inferline::http {
namespace {

using boost::beast::http::status;
using testing::Fetch;

// The server needs the registry before the router is built, so the test owns both.
struct Fixture {
  explicit Fixture(ReadinessFn readiness) {
    Router router;
    AddStandardRoutes(router, std::move(readiness), registry);
    server = std::make_unique<HttpServer>(testing::TestServer::Options(), std::move(router),
                                          registry);
    Status status = server->Start();
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  metrics::Registry registry;
  std::unique_ptr<HttpServer> server;
};

TEST(StandardRoutesTest, HealthzIsOk) {
  Fixture f(nullptr);
  auto res = Fetch(f.server->port(), "GET", "/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_EQ(boost::json::parse(res->body()).at("status").as_string(), "ok");
}

TEST(StandardRoutesTest, ReadyzFollowsTheCallback) {
  std::atomic<bool> store_up{true};
  Fixture f([&]() -> std::vector<std::string> {
    if (store_up) return {};
    return {"store", "queue"};
  });
  auto ready = Fetch(f.server->port(), "GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result(), status::ok);

  store_up = false;
  auto failing = Fetch(f.server->port(), "GET", "/readyz");
  ASSERT_TRUE(failing);
  EXPECT_EQ(failing->result(), status::service_unavailable);
  auto json = boost::json::parse(failing->body());
  EXPECT_EQ(json.at("status").as_string(), "unavailable");
  ASSERT_EQ(json.at("failing").as_array().size(), 2u);
  EXPECT_EQ(json.at("failing").as_array()[0].as_string(), "store");
}

TEST(StandardRoutesTest, MetricsCountRequestsByRoutePattern) {
  Fixture f(nullptr);
  ASSERT_TRUE(Fetch(f.server->port(), "GET", "/healthz"));
  ASSERT_TRUE(Fetch(f.server->port(), "GET", "/healthz"));
  ASSERT_TRUE(Fetch(f.server->port(), "GET", "/no/such/path"));
  // A request is counted just after its response is written, so the client can be faster than
  // the count: ask again (bounded) until all three show up.
  std::optional<testing::RawResponse> res;
  for (int i = 0; i < 500; ++i) {
    res = Fetch(f.server->port(), "GET", "/metrics");
    ASSERT_TRUE(res);
    const std::string& body = res->body();
    if (body.find("http_requests_total{route=\"/healthz\",code=\"200\"} 2") != std::string::npos &&
        body.find("code=\"404\"") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_TRUE((*res)["Content-Type"].starts_with("text/plain; version=0.0.4"));
  const std::string& text = res->body();
  EXPECT_NE(text.find("http_requests_total{route=\"/healthz\",code=\"200\"} 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{route=\"unmatched\",code=\"404\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("http_request_duration_seconds_count{route=\"/healthz\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE inferline_http_connections gauge"), std::string::npos);
}

}  // namespace
}  // namespace inferline::http
