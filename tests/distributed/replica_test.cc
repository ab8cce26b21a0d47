// Distributed: an SSE client on a SECOND gateway replica receives every event of a request
// accepted by the first (issue 6, acceptance 4): events travel through Redis (pub/sub plus a
// capped per-request stream), so the replica streams them live and replays them from any
// Last-Event-ID, exactly as the accepting gateway does.
#include <fmt/format.h>

#include <thread>

#include "distributed_fixture.h"

namespace inferline::distributed {
namespace {
namespace json = boost::json;

std::string TokenText(const std::vector<e2e::SseEvent>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.event != "token") continue;
    json::value v = json::parse(e.data);
    if (v.is_object() && v.as_object().contains("text") && v.as_object().at("text").is_string()) {
      text += std::string(v.as_object().at("text").as_string());
    }
  }
  return text;
}

void ExpectSameEvents(const std::vector<e2e::SseEvent>& got,
                      const std::vector<e2e::SseEvent>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id) << i;
    EXPECT_EQ(got[i].event, want[i].event) << i;
    EXPECT_EQ(got[i].data, want[i].data) << i;
  }
}

TEST_F(Distributed, SecondGatewayReplicaStreamsEveryEventOfARequestAcceptedByTheFirst) {
  const std::string key = CreateUserKey(cluster(), "sse");
  ASSERT_FALSE(key.empty());
  if (cluster().count(Role::kGateway) < 2) {
    auto added = cluster().Add(Role::kGateway);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }
  const uint16_t first = port();
  const uint16_t second = cluster().gateway_port(1);
  ASSERT_NE(second, 0);
  ASSERT_NE(second, first);

  auto accepted = e2e::Call(first, "POST", "/v1/requests",
                            R"({"model":"kjv-small","prompt":"Sing unto the Lord","max_tokens":40})",
                            key);
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202u) << accepted->body;
  const std::string id(accepted->Json()["request_id"].as_string());
  // Live, on the replica, from the moment the request is accepted.
  auto live_response = e2e::Call(second, "GET", "/v1/requests/" + id + "/events", {}, key);
  ASSERT_TRUE(live_response);
  ASSERT_EQ(live_response->status, 200u) << live_response->body;
  EXPECT_NE(live_response->Header("content-type").find("text/event-stream"), std::string::npos);
  std::vector<e2e::SseEvent> live = e2e::ParseSse(live_response->body);

  ASSERT_GE(live.size(), 4u) << live_response->body;
  EXPECT_EQ(live.front().event, "queued");
  EXPECT_EQ(live[1].event, "started");
  EXPECT_EQ(live.back().event, "completed");
  for (size_t i = 0; i < live.size(); ++i) EXPECT_EQ(live[i].id, std::to_string(i + 1));
  auto doc = e2e::Call(second, "GET", "/v1/requests/" + id, {}, key);
  ASSERT_TRUE(doc);
  ASSERT_EQ(doc->status, 200u);
  json::object record = doc->Json();
  ASSERT_EQ(record["status"], "completed") << doc->body;
  const std::string text(record["result"].as_object()["text"].as_string());
  EXPECT_EQ(TokenText(live), text);
  json::object done = json::parse(live.back().data).as_object();
  EXPECT_EQ(std::string(done["text"].as_string()), text);

  // Both replicas serve the same history, on both routes.
  for (uint16_t p : {first, second}) {
    for (const std::string& path : {"/v1/requests/" + id + "/events", "/events/" + id}) {
      SCOPED_TRACE(fmt::format("port {} {}", p, path));
      auto again = e2e::Call(p, "GET", path, {}, key);
      ASSERT_TRUE(again);
      ExpectSameEvents(e2e::ParseSse(again->body), live);
    }
  }
  // Replay from any Last-Event-ID on the replica: exactly the events after it.
  for (size_t k : {size_t{1}, size_t{2}, live.size() / 2, live.size() - 1}) {
    SCOPED_TRACE(fmt::format("Last-Event-ID {}", k));
    auto replay = e2e::Call(second, "GET", "/v1/requests/" + id + "/events", {}, key,
                            fmt::format("Last-Event-ID: {}\r\n", k));
    ASSERT_TRUE(replay);
    ExpectSameEvents(e2e::ParseSse(replay->body),
                     std::vector<e2e::SseEvent>(live.begin() + static_cast<long>(k), live.end()));
  }
  // Another user cannot read them on either replica.
  const std::string other = CreateUserKey(cluster(), "sse-other");
  for (uint16_t p : {first, second}) {
    EXPECT_EQ(e2e::Call(p, "GET", "/v1/requests/" + id + "/events", {}, other)->status, 404u);
  }
  ExpectAccountingAgrees(cluster(), second, "sse", key, "after streaming on a replica");
}

}  // namespace
}  // namespace inferline::distributed
