// POST /tokenize and /detokenize in-process: the ids are the ones admission counts, no token
// quota is spent, and the plan's per-minute request limit applies.
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gateway/gateway.h"
#include "gateway/testing/test_platform.h"
#include "http/testing/raw_client.h"
#include "http/testing/test_server.h"

namespace inferline::gateway {
namespace {
namespace json = boost::json;
using http::testing::Fetch;
using http::testing::RawResponse;

json::object Body(const RawResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body(), ec);
  return ec || !v.is_object() ? json::object{} : v.as_object();
}

class TokenizeTest : public ::testing::Test {
 protected:
  TokenizeTest() {
    GatewayDeps deps = p_.Deps(registry_);
    GatewayOptions options;
    options.admission.default_max_tokens = 16;
    options.blocking_threads = 4;
    options.scaling_refresh = std::chrono::milliseconds(0);
    gateway_ = std::make_unique<Gateway>(deps, options);
    http::Router router;
    gateway_->AddRoutes(router);
    server_ = std::make_unique<http::testing::TestServer>(std::move(router));
    alice_ = p_.AddUser("alice");
    slow_ = p_.AddUser("slow", "unlimited", R"({"requests_per_minute": 2})");
  }
  ~TokenizeTest() override {
    server_->server().Shutdown(std::chrono::milliseconds(0));
    server_->server().Wait();
    gateway_->Stop();
    server_.reset();
  }
  std::optional<RawResponse> Post(const std::string& path, const std::string& body,
                                  const std::string& key) {
    return Fetch(server_->port(), "POST", path, body,
                 "Authorization: Bearer " + key + "\r\nContent-Type: application/json\r\n");
  }

  testing::TestPlatform p_;
  metrics::Registry registry_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<http::testing::TestServer> server_;
  std::string alice_, slow_;
};

TEST_F(TokenizeTest, CountsWhatAdmissionCounts) {
  auto t = Post("/tokenize", R"({"model":"kjv-small","prompt":"And God said, Let there be light"})",
                alice_);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->result_int(), 200u) << t->body();
  json::object tb = Body(*t);
  const int64_t count = tb["count"].as_int64();
  EXPECT_EQ(static_cast<int64_t>(tb["tokens"].as_array().size()), count);
  EXPECT_GT(count, 3);
  EXPECT_EQ(tb["max_model_len"].as_int64(), 256);
  EXPECT_EQ(tb["reserve"].as_int64(), count + 16);  // the default max_tokens
  // The same prompt through /v1/requests: the prompt tokens it is billed for.
  auto a = Post("/v1/requests",
                R"({"model":"kjv-small","prompt":"And God said, Let there be light","max_tokens":5})",
                alice_);
  ASSERT_EQ(a->result_int(), 202u) << a->body();
  json::object ab = Body(*a);
  EXPECT_EQ(ab["prompt_tokens"].as_int64(), count);
  EXPECT_EQ(ab["reserved_tokens"].as_int64(), count + 5);
  auto r = Post("/v1/tokenize", R"({"model":"kjv-small","prompt":"x y z","max_tokens":5})", alice_);
  EXPECT_EQ(Body(*r)["reserve"].as_int64(), Body(*r)["count"].as_int64() + 5);
}

TEST_F(TokenizeTest, ChatAppliesTheTemplateAsAdmissionDoes) {
  const std::string messages = R"([{"role":"user","content":"Who made the light?"}])";
  auto t = Post("/tokenize", R"({"model":"kjv-small","messages":)" + messages + "}", alice_);
  ASSERT_EQ(t->result_int(), 200u) << t->body();
  auto a = Post("/v1/requests",
                R"({"model":"kjv-small","max_tokens":4,"messages":)" + messages + "}", alice_);
  ASSERT_EQ(a->result_int(), 202u) << a->body();
  EXPECT_EQ(Body(*a)["prompt_tokens"].as_int64(), Body(*t)["count"].as_int64());
  // The rendered template, decoded back, is what the model reads.
  json::object d;
  d["model"] = "kjv-small";
  d["tokens"] = Body(*t)["tokens"];
  auto back = Post("/detokenize", json::serialize(d), alice_);
  ASSERT_EQ(back->result_int(), 200u) << back->body();
  EXPECT_EQ(Body(*back)["prompt"], "User: Who made the light?\nAssistant:");
}

TEST_F(TokenizeTest, DetokenizeRoundTripsAndRefusesBadInput) {
  auto t = Post("/tokenize", R"({"model":"kjv-small","prompt":"tabs\tand emoji \ud83d\ude00"})", alice_);
  ASSERT_EQ(t->result_int(), 200u) << t->body();
  json::object d{{"model", "kjv-small"}, {"tokens", Body(*t)["tokens"]}};
  auto back = Post("/v1/detokenize", json::serialize(d), alice_);
  EXPECT_EQ(Body(*back)["prompt"], "tabs\tand emoji \xF0\x9F\x98\x80");

  auto bad_id = Post("/detokenize", R"({"model":"kjv-small","tokens":[1,99999]})", alice_);
  EXPECT_EQ(bad_id->result_int(), 400u);
  EXPECT_EQ(Body(*bad_id)["error"].as_object()["param"], "tokens[1]");
  auto no_tokens = Post("/detokenize", R"({"model":"kjv-small"})", alice_);
  EXPECT_EQ(Body(*no_tokens)["error"].as_object()["param"], "tokens");
  auto unknown = Post("/tokenize", R"({"model":"nope","prompt":"x"})", alice_);
  EXPECT_EQ(unknown->result_int(), 404u);
  auto bad_field = Post("/tokenize", R"({"model":"kjv-small","prompt":5})", alice_);
  EXPECT_EQ(bad_field->result_int(), 400u);
  EXPECT_EQ(Body(*bad_field)["error"].as_object()["param"], "prompt");
  auto no_key = Fetch(server_->port(), "POST", "/tokenize", R"({"model":"kjv-small","prompt":"x"})");
  EXPECT_EQ(no_key->result_int(), 401u);
}

TEST_F(TokenizeTest, PerMinuteRequestLimitButNoTokenQuota) {
  const std::string body = R"({"model":"kjv-small","prompt":"In the beginning"})";
  EXPECT_EQ(Post("/tokenize", body, slow_)->result_int(), 200u);
  EXPECT_EQ(Post("/detokenize", R"({"model":"kjv-small","tokens":[1]})", slow_)->result_int(), 200u);
  auto third = Post("/tokenize", body, slow_);
  EXPECT_EQ(third->result_int(), 429u) << third->body();
  EXPECT_FALSE(third->operator[]("Retry-After").empty());
  auto quota = Fetch(server_->port(), "GET", "/v1/quota", {},
                     "Authorization: Bearer " + slow_ + "\r\n");
  ASSERT_EQ(quota->result_int(), 200u) << quota->body();
  const json::object qb = Body(*quota);  // not a temporary: the loop refers into it
  ASSERT_TRUE(qb.contains("windows")) << quota->body();
  for (const auto& w : qb.at("windows").as_array()) {
    const auto& wo = w.as_object();
    if (wo.contains("used")) {
      EXPECT_EQ(wo.at("used").as_int64(), 0) << json::serialize(wo);
    }
  }
}

}  // namespace
}  // namespace inferline::gateway
