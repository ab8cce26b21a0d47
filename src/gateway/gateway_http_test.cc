// The gateway's HTTP API in-process: a real HttpServer with the gateway's routes over the real
// embedded seams; the test plays worker and collector (TestPlatform::ServeOne).
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <thread>

#include "gateway/gateway.h"
#include "gateway/testing/test_platform.h"
#include "http/testing/raw_client.h"
#include "http/testing/test_server.h"
#include "store/testing/outage_store.h"

namespace inferline::gateway {
namespace {
namespace json = boost::json;
using http::testing::Fetch;
using http::testing::RawResponse;

std::string Auth(const std::string& key) { return "Authorization: Bearer " + key + "\r\n"; }

json::object Body(const RawResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body(), ec);
  return ec || !v.is_object() ? json::object{} : v.as_object();
}

std::string ErrorParam(const RawResponse& r) {
  json::object b = Body(r);
  if (!b.contains("error")) return "<no error>";
  const json::value& p = b["error"].as_object()["param"];
  return p.is_string() ? std::string(p.as_string()) : "<null>";
}

// The `data:` payloads of an SSE body, in order.
std::vector<std::string> DataLines(std::string_view body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string_view::npos) {
    size_t end = body.find('\n', pos);
    out.emplace_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> EventsOf(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;  // (id, event)
  size_t pos = 0;
  while ((pos = body.find("event: ", pos)) != std::string_view::npos) {
    size_t end = body.find('\n', pos);
    std::string type(body.substr(pos + 7, end - pos - 7));
    size_t id_pos = body.find("id: ", end);
    size_t id_end = body.find('\n', id_pos);
    out.emplace_back(std::string(body.substr(id_pos + 4, id_end - id_pos - 4)), type);
    pos = id_end;
  }
  return out;
}

class GatewayHttpTest : public ::testing::Test {
 protected:
  GatewayHttpTest() {
    GatewayDeps deps = p_.Deps(registry_);
    GatewayOptions options;
    options.admission.default_max_tokens = 16;
    // As `inferline serve` runs it: small bodies are admitted on the I/O thread.
    options.admission.in_process_seams = true;
    options.blocking_threads = 4;
    options.cors_origins = {"https://app.example"};
    options.sse_keepalive = std::chrono::milliseconds(500);
    options.scaling_refresh = std::chrono::milliseconds(0);
    gateway_ = std::make_unique<Gateway>(deps, options);
    http::Router router;
    gateway_->AddRoutes(router);
    server_ = std::make_unique<http::testing::TestServer>(std::move(router));
    alice_ = p_.AddUser("alice");
    bob_ = p_.AddUser("bob");
    admin_ = p_.AddUser("root", "unlimited", "{}", true);
  }
  ~GatewayHttpTest() override {
    server_->server().Shutdown(std::chrono::milliseconds(0));
    server_->server().Wait();
    gateway_->Stop();  // before the io_context goes: pool results post to its strands
    server_.reset();
  }

  std::optional<RawResponse> Post(const std::string& path, const std::string& body,
                                  const std::string& key, const std::string& extra = {}) {
    return Fetch(port(), "POST", path, body,
                 Auth(key) + "Content-Type: application/json\r\n" + extra);
  }
  std::optional<RawResponse> Get(const std::string& path, const std::string& key,
                                 const std::string& extra = {}) {
    return Fetch(port(), "GET", path, {}, Auth(key) + extra);
  }
  uint16_t port() { return server_->port(); }

  // Serves the next queued request on another thread.
  std::thread Worker(std::vector<std::string> pieces) {
    return std::thread([this, pieces] { EXPECT_TRUE(p_.ServeOne(pieces)); });
  }

  std::string Submit(const std::string& prompt, int max_tokens, const std::string& key) {
    auto r = Post("/v1/requests",
                  fmt::format(R"({{"model":"kjv-small","prompt":"{}","max_tokens":{}}})", prompt,
                              max_tokens),
                  key);
    EXPECT_TRUE(r);
    EXPECT_EQ(r->result_int(), 202u) << r->body();
    return std::string(Body(*r)["request_id"].as_string());
  }

  testing::TestPlatform p_;
  metrics::Registry registry_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<http::testing::TestServer> server_;
  std::string alice_, bob_, admin_;
};

TEST_F(GatewayHttpTest, AuthenticationErrorsAndModels) {
  auto none = Fetch(port(), "GET", "/v1/models");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->result_int(), 401u);
  EXPECT_EQ(Body(*none)["error"].as_object()["code"], "missing_api_key");
  auto wrong = Get("/v1/models", "sk-il-not-a-real-key-000000000000");
  EXPECT_EQ(wrong->result_int(), 401u);
  EXPECT_EQ(Body(*wrong)["error"].as_object()["code"], "invalid_api_key");
  EXPECT_EQ(wrong->body().find("not-a-real-key-0000"), std::string::npos);  // masked
  auto ok = Fetch(port(), "GET", "/v1/models", {}, "x-api-key: " + alice_ + "\r\n");
  ASSERT_EQ(ok->result_int(), 200u);
  json::object models = Body(*ok);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"].as_array()[0].as_object()["id"], "kjv-small");
  EXPECT_EQ(Get("/v1/models/kjv-small", alice_)->result_int(), 200u);
  auto missing = Get("/v1/models/gpt-4", alice_);
  EXPECT_EQ(missing->result_int(), 404u);
  EXPECT_EQ(ErrorParam(*missing), "model");
}

TEST_F(GatewayHttpTest, ListsTheCallersRequestsNewestFirstInPages) {
  std::set<std::string> submitted;
  for (int i = 0; i < 5; ++i) submitted.insert(Submit(fmt::format("prompt {}", i), 2, alice_));
  Submit("bob's own", 2, bob_);

  // Pages of two: 2 + 2 + 1, no request twice, each page newest first.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  int64_t previous_created = std::numeric_limits<int64_t>::max();
  do {
    auto r = Get("/v1/requests?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), alice_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->result_int(), 200u) << r->body();
    json::object page = Body(*r);
    EXPECT_EQ(page["object"], "list");
    for (const auto& item : page["data"].as_array()) {
      const json::object& o = item.as_object();
      EXPECT_EQ(o.at("object"), "inference.request");
      EXPECT_LE(o.at("created").as_int64(), previous_created);
      previous_created = o.at("created").as_int64();
      seen.push_back(std::string(o.at("id").as_string()));
    }
    EXPECT_EQ(page["has_more"].as_bool(), !page["next_cursor"].is_null());
    cursor = page["next_cursor"].is_null() ? "" : std::string(page["next_cursor"].as_string());
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), submitted);  // none of bob's

  // Another user's list only for an admin; bad parameters name themselves.
  EXPECT_EQ(Get("/v1/requests?user=alice", bob_)->result_int(), 403u);
  auto as_admin = Get("/v1/requests?user=alice&limit=1000", admin_);
  ASSERT_EQ(as_admin->result_int(), 200u);
  EXPECT_EQ(Body(*as_admin)["data"].as_array().size(), 5u);
  for (const char* bad : {"limit=0", "limit=1001", "limit=x"}) {
    auto r = Get(std::string("/v1/requests?") + bad, alice_);
    EXPECT_EQ(r->result_int(), 400u) << bad;
    EXPECT_EQ(Body(*r)["error"].as_object()["param"], "limit") << bad;
  }
  auto bad_cursor = Get("/v1/requests?cursor=nonsense", alice_);
  EXPECT_EQ(bad_cursor->result_int(), 400u);
  EXPECT_EQ(Body(*bad_cursor)["error"].as_object()["param"], "cursor");
}

TEST_F(GatewayHttpTest, AsyncLifecycleWithEventsAndReplay) {
  std::string id = Submit("In the beginning", 3, alice_);
  auto queued = Get("/v1/requests/" + id, alice_);
  ASSERT_EQ(queued->result_int(), 200u);
  EXPECT_EQ(Body(*queued)["status"], "queued");
  EXPECT_EQ(Get("/v1/requests/" + id, bob_)->result_int(), 404u);  // not bob's
  EXPECT_EQ(Get("/v1/requests/" + id + "/events", bob_)->result_int(), 404u);

  std::thread worker = Worker({" God", " created", " the"});
  worker.join();
  auto done = Get("/v1/requests/" + id, alice_);
  json::object doc = Body(*done);
  EXPECT_EQ(doc["status"], "completed");
  EXPECT_EQ(doc["result"].as_object()["text"], " God created the");
  EXPECT_EQ(doc["usage"].as_object()["completion_tokens"], 3);

  auto events = Get("/v1/requests/" + id + "/events", alice_);
  ASSERT_EQ(events->result_int(), 200u);
  auto evs = EventsOf(events->body());
  std::vector<std::pair<std::string, std::string>> want = {
      {"1", "queued"}, {"2", "started"}, {"3", "token"},
      {"4", "token"},  {"5", "token"},   {"6", "completed"}};
  EXPECT_EQ(evs, want);
  // `queued` is derived from the record (admission publishes nothing), with what it settled.
  const std::string body(events->body());
  const size_t data = body.find("data: ") + 6;
  json::object queued_data = json::parse(body.substr(data, body.find('\n', data) - data)).as_object();
  EXPECT_EQ(queued_data["request_id"].as_string(), id);
  EXPECT_EQ(queued_data["status"], "queued");
  EXPECT_EQ(queued_data["max_tokens"], 3);
  EXPECT_EQ(queued_data["reserved_tokens"].as_int64(),
            queued_data["prompt_tokens"].as_int64() + 3);
  // Last-Event-ID: 1 (seen `queued`) replays the bus from its first event; 0 is nothing seen.
  want = {{"2", "started"}, {"3", "token"}, {"4", "token"}, {"5", "token"}, {"6", "completed"}};
  EXPECT_EQ(EventsOf(Get("/events/" + id, alice_, "Last-Event-ID: 1\r\n")->body()), want);
  want.insert(want.begin(), {"1", "queued"});
  EXPECT_EQ(EventsOf(Get("/events/" + id, alice_, "Last-Event-ID: 0\r\n")->body()), want);
  auto replay = Get("/events/" + id, alice_, "Last-Event-ID: 4\r\n");
  want = {{"5", "token"}, {"6", "completed"}};
  EXPECT_EQ(EventsOf(replay->body()), want);
  auto by_query = Get("/v1/requests/" + id + "/events?last_event_id=5", alice_);
  want = {{"6", "completed"}};
  EXPECT_EQ(EventsOf(by_query->body()), want);
  // Nothing missed: the stream ends at once, empty.
  EXPECT_TRUE(EventsOf(Get("/events/" + id, alice_, "Last-Event-ID: 6\r\n")->body()).empty());
  auto bad = Get("/v1/requests/" + id + "/events", alice_, "Last-Event-ID: x\r\n");
  EXPECT_EQ(bad->result_int(), 400u);
}

TEST_F(GatewayHttpTest, SyncCompletionAndStreamingChat) {
  std::thread w1 = Worker({" and", " the", " earth"});
  auto sync = Post("/v1/completions",
                   R"({"model":"kjv-small","prompt":"the heaven","max_tokens":3,"echo":true})",
                   alice_);
  w1.join();
  ASSERT_EQ(sync->result_int(), 200u) << sync->body();
  json::object c = Body(*sync);
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"].as_array()[0].as_object()["text"], "the heaven and the earth");
  EXPECT_EQ(c["usage"].as_object()["completion_tokens"], 3);

  std::thread w2 = Worker({"Blessed", " is", " the", " man"});
  auto stream = Post("/v1/chat/completions",
                     R"({"model":"kjv-small","messages":[{"role":"user","content":"Sing"}],
                         "max_tokens":4,"stream":true,"stream_options":{"include_usage":true}})",
                     alice_);
  w2.join();
  ASSERT_EQ(stream->result_int(), 200u);
  auto lines = DataLines(stream->body());
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.back(), "[DONE]");
  std::string text;
  bool saw_finish = false, saw_usage = false;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    json::object chunk = json::parse(lines[i]).as_object();
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    auto& choices = chunk["choices"].as_array();
    if (choices.empty()) {
      saw_usage = true;
      EXPECT_EQ(chunk["usage"].as_object()["completion_tokens"], 4);
      continue;
    }
    auto& delta = choices[0].as_object()["delta"].as_object();
    if (delta.contains("content")) text += std::string(delta["content"].as_string());
    if (!choices[0].as_object()["finish_reason"].is_null()) saw_finish = true;
  }
  EXPECT_EQ(text, "Blessed is the man");
  EXPECT_TRUE(saw_finish);
  EXPECT_TRUE(saw_usage);
}

TEST_F(GatewayHttpTest, CancelQueuedRefundsAndTerminalIs409) {
  std::string id = Submit("Let there be light", 5, alice_);
  ASSERT_EQ(p_.ledger->ListReservations()->size(), 1u);
  auto del = Fetch(port(), "DELETE", "/v1/requests/" + id, {}, Auth(alice_));
  ASSERT_EQ(del->result_int(), 200u) << del->body();
  EXPECT_EQ(Body(*del)["previous_status"], "queued");
  EXPECT_TRUE(p_.ledger->ListReservations()->empty());
  EXPECT_EQ(Fetch(port(), "DELETE", "/v1/requests/" + id, {}, Auth(alice_))->result_int(), 409u);
  EXPECT_EQ(Body(*Get("/v1/requests/" + id, alice_))["status"], "cancelled");
  auto evs = EventsOf(Get("/v1/requests/" + id + "/events", alice_)->body());
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().second, "cancelled");
  // The worker drops the cancelled message.
  EXPECT_TRUE(p_.ServeOne({"x"}));
  EXPECT_EQ(Body(*Get("/v1/requests/" + id, alice_))["status"], "cancelled");
}

TEST_F(GatewayHttpTest, DisconnectedSyncClientCancelsItsRequest) {
  {
    http::testing::RawClient client(port());
    std::string body = R"({"model":"kjv-small","prompt":"And God said","max_tokens":5})";
    ASSERT_TRUE(client.Send(fmt::format(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\n{}Content-Length: {}\r\n\r\n{}", Auth(alice_),
        body.size(), body)));
    for (int i = 0; i < 200 && p_.ledger->ListReservations()->empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(p_.ledger->ListReservations()->size(), 1u);
  }  // the client hangs up
  for (int i = 0; i < 300 && !p_.ledger->ListReservations()->empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(p_.ledger->ListReservations()->empty());
}

TEST_F(GatewayHttpTest, QuotaRefusalCarriesOpenAiHeaders) {
  std::string key = p_.AddUser("carol", "default", R"({"tokens_per_day": 30})");
  Submit("And God said", 20, key);
  auto refused = Post("/v1/requests",
                      R"({"model":"kjv-small","prompt":"And God said","max_tokens":20})", key);
  ASSERT_EQ(refused->result_int(), 429u);
  EXPECT_FALSE(refused->at("Retry-After").empty());
  EXPECT_EQ(refused->at("x-ratelimit-limit-tokens"), "30");
  EXPECT_FALSE(refused->at("x-ratelimit-remaining-tokens").empty());
  EXPECT_FALSE(refused->at("x-ratelimit-reset-tokens").empty());
  EXPECT_EQ(refused->at("x-ratelimit-limit-requests"), "100");
  json::object err = Body(*refused)["error"].as_object();
  EXPECT_EQ(err["type"], "insufficient_quota");
  EXPECT_EQ(err["param"], "tokens_per_day");
  auto quota = Body(*Get("/v1/quota", key));
  EXPECT_EQ(quota["plan"], "default");
  bool found = false;
  for (const auto& w : quota["windows"].as_array()) {
    if (w.as_object().at("window") == "tokens_per_day") {
      found = true;
      EXPECT_EQ(w.as_object().at("limit"), 30);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(GatewayHttpTest, SeedGatewayShape) {
  auto r = Post("/api/gateway", R"({"prompt":"In the beginning","max_length":5,"user_id":"alice"})",
                alice_);
  ASSERT_EQ(r->result_int(), 202u) << r->body();
  json::object b = Body(*r);
  EXPECT_EQ(b["success"], true);
  EXPECT_EQ(b["status"], "queued");
  EXPECT_EQ(b["user_id"], "alice");
  EXPECT_EQ(b["sse_endpoint"].as_string(), "/events/" + std::string(b["request_id"].as_string()));
  EXPECT_TRUE(b["estimated_tokens"].as_int64() > 5);
  auto other = Post("/api/gateway", R"({"prompt":"x","user_id":"bob"})", alice_);
  EXPECT_EQ(other->result_int(), 403u);
  EXPECT_EQ(Body(*other)["param"], "user_id");
  std::string key = p_.AddUser("dora", "default", R"({"requests_per_day": 0})");
  auto over = Post("/api/gateway", R"({"prompt":"x"})", key);
  ASSERT_EQ(over->result_int(), 429u);
  EXPECT_EQ(Body(*over)["success"], false);
  EXPECT_EQ(Body(*over)["error"], "Quota exceeded");
  EXPECT_EQ(Body(*over)["status_code"], 429);
}

TEST_F(GatewayHttpTest, AdminKeysUsersAndScaling) {
  EXPECT_EQ(Get("/v1/admin/plans", alice_)->result_int(), 403u);
  auto plans = Get("/v1/admin/plans", admin_);
  ASSERT_EQ(plans->result_int(), 200u);
  EXPECT_NE(plans->body().find("\"default\""), std::string::npos);

  auto created = Post("/v1/admin/keys", R"({"user":"erin","plan":"default","name":"ci"})", admin_);
  ASSERT_EQ(created->result_int(), 201u) << created->body();
  std::string key(Body(*created)["key"].as_string());
  std::string key_id(Body(*created)["id"].as_string());
  EXPECT_EQ(Get("/v1/models", key)->result_int(), 200u);
  auto listed = Get("/v1/admin/keys?user=erin", admin_);
  EXPECT_EQ(listed->body().find(key), std::string::npos);  // never the secret
  EXPECT_NE(listed->body().find(key_id), std::string::npos);

  auto patch = Fetch(port(), "PATCH", "/v1/admin/users/erin", R"({"limits":{"tokens_per_day":7}})",
                     Auth(admin_));
  ASSERT_EQ(patch->result_int(), 200u) << patch->body();
  EXPECT_EQ(Body(*patch)["limits"].as_object()["tokens_per_day"], 7);
  auto refused = Post("/v1/requests", R"({"model":"kjv-small","prompt":"x","max_tokens":7})", key);
  EXPECT_EQ(refused->result_int(), 429u);  // the override applies at once
  auto bad = Fetch(port(), "PATCH", "/v1/admin/users/erin", R"({"limits":{"tokens_per_day":-1}})",
                   Auth(admin_));
  EXPECT_EQ(bad->result_int(), 400u);
  EXPECT_EQ(ErrorParam(*bad), "limits.tokens_per_day");

  auto revoke = Fetch(port(), "DELETE", "/v1/admin/keys/" + key_id, {}, Auth(admin_));
  ASSERT_EQ(revoke->result_int(), 200u);
  EXPECT_EQ(Get("/v1/models", key)->result_int(), 401u);  // at once, in-process

  Submit("And God said", 2, alice_);
  auto scaling = Body(*Get("/v1/admin/scaling", admin_));
  EXPECT_EQ(scaling["queue_depth"], 1);
  EXPECT_GT(scaling["backlog_tokens"].as_int64(), 2);
  auto user = Get("/v1/admin/users/erin", admin_);
  EXPECT_EQ(user->result_int(), 200u);
  auto usage = Get("/v1/admin/usage?from=2020-01-01", admin_);
  EXPECT_EQ(usage->result_int(), 200u);
  EXPECT_EQ(Get("/v1/admin/usage?from=yesterday", admin_)->result_int(), 400u);
}

// With the backlog summed by the store (PostgreSQL: a scan that grows with the queue), a sum is
// reused until 50 times its own duration has passed, so a long queue cannot make the scans
// dominate the database; a cheap sum is redone on the next call.
TEST(GatewayBacklog, StoreSumIsReusedForFiftyTimesItsDuration) {
  testing::TestPlatform p;
  store::testing::OutageStore store(*p.store);
  store.open_reserved_tokens = 1234;
  metrics::Registry registry;
  GatewayDeps deps = p.Deps(registry);
  deps.store = &store;
  GatewayOptions options;
  options.backlog_from_store = true;
  options.scaling_refresh = std::chrono::hours(1);  // the monitor sums once, at the start
  Gateway gateway(deps, options);
  http::Router router;
  gateway.AddRoutes(router);
  http::testing::TestServer server(std::move(router));
  const std::string admin = p.AddUser("root", "unlimited", "{}", true);
  auto backlog = [&] {
    return Body(*Fetch(server.port(), "GET", "/v1/admin/scaling", {}, Auth(admin)))
        ["backlog_tokens"].as_int64();
  };
  // A sum that takes no time is redone on the next call (300 ms later: reused for at most
  // 50 x the few ms a stalled machine might take).
  while (store.open_reserved_calls == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  store.open_reserved_tokens = 5;
  EXPECT_EQ(backlog(), 5);
  EXPECT_EQ(store.open_reserved_calls, 2);
  // Past a sum that took 200 ms, the next calls within 10 s get the same sum without a scan.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  store.open_reserved_delay_ms = 200;
  store.open_reserved_tokens = 77;
  EXPECT_EQ(backlog(), 77);
  EXPECT_EQ(store.open_reserved_calls, 3);
  store.open_reserved_tokens = 99;
  EXPECT_EQ(backlog(), 77);
  EXPECT_EQ(backlog(), 77);
  EXPECT_EQ(store.open_reserved_calls, 3);
  server.server().Shutdown(std::chrono::milliseconds(0));
  server.server().Wait();
  gateway.Stop();
}

TEST_F(GatewayHttpTest, CorsOnlyForListedOrigins) {
  auto pre = Fetch(port(), "OPTIONS", "/v1/completions", {},
                   "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->at("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(pre->at("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
  auto other = Fetch(port(), "OPTIONS", "/v1/completions", {}, "Origin: https://evil.example\r\n");
  EXPECT_EQ(other->find("Access-Control-Allow-Origin"), other->end());
  auto get = Get("/v1/models", alice_, "Origin: https://app.example\r\n");
  EXPECT_EQ(get->at("Access-Control-Allow-Origin"), "https://app.example");
}

}  // namespace
}  // namespace inferline::gateway
