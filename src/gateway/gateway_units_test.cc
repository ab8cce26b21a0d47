// Unit tests of the gateway's pure parts: keys and ids, plans and overrides, the rate limiter,
// OpenAI response shapes, event payloads, the event inbox and header formatting.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "gateway/admission.h"
#include "gateway/api_keys.h"
#include "gateway/authenticator.h"
#include "gateway/event_data.h"
#include "gateway/event_inbox.h"
#include "gateway/openai_format.h"
#include "gateway/plans.h"
#include "gateway/rate_limiter.h"

namespace inferline::gateway {
namespace {
namespace json = boost::json;

TEST(ApiKeys, SecretsHaveThePrefixAndAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string s = NewApiKeySecret();
    EXPECT_EQ(s.rfind("sk-il-", 0), 0u);
    EXPECT_EQ(s.size(), 46u);
    for (char c : s.substr(6)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << s;
    EXPECT_TRUE(seen.insert(s).second);
  }
  EXPECT_EQ(NewGenerationRequestId().rfind("req_", 0), 0u);
  EXPECT_EQ(NewKeyId().rfind("key_", 0), 0u);
}

TEST(ApiKeys, AForkedChildNeverRepeatsItsParentsRandomness) {
  (void)NewKeyId();  // the parent's pool now holds unused random bytes
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string child = RandomBase62(64);
    ssize_t w = ::write(fds[1], child.data(), child.size());
    ::_exit(w == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string parent = RandomBase62(64);
  std::string child(64, '\0');
  size_t got = 0;
  while (got < child.size()) {
    ssize_t n = ::read(fds[0], child.data() + got, child.size() - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(got, child.size());
  EXPECT_NE(parent, child);
}

TEST(ApiKeys, RequestIdsSortByCreationTime) {
  std::string previous = NewGenerationRequestId();
  EXPECT_EQ(previous.size(), 28u);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::string next = NewGenerationRequestId();
    EXPECT_LT(previous, next);
    // The time part moved on, the random part differs.
    EXPECT_LT(previous.substr(0, 12), next.substr(0, 12));
    EXPECT_NE(previous.substr(12), next.substr(12));
    for (char c : next.substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << next;
    previous = next;
  }
}

TEST(ApiKeys, HashIsSha256Hex) {
  // sha256("abc"), FIPS 180-2 test vector.
  EXPECT_EQ(HashSecret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(HashSecret("sk-il-a"), HashSecret("sk-il-b"));
}

TEST(ApiKeys, DisplayFormsNeverHoldTheWholeSecret) {
  std::string s = NewApiKeySecret();
  EXPECT_EQ(DisplayPrefix(s), s.substr(0, 10) + "...");
  std::string masked = MaskSecret(s);
  EXPECT_EQ(masked.find(s.substr(8, s.size() - 12)), std::string::npos);
  EXPECT_EQ(MaskSecret("short"), "****");
}

TEST(ApiKeys, UserIds) {
  EXPECT_TRUE(ValidateUserId("alice@example.com").ok());
  EXPECT_EQ(ValidateUserId("").param(), "user");
  EXPECT_FALSE(ValidateUserId("a b").ok());
  EXPECT_FALSE(ValidateUserId(std::string(65, 'a')).ok());
}

TEST(ApiKeys, ExtractsBearerOrXApiKey) {
  EXPECT_EQ(ExtractApiKey("Bearer sk-il-x", ""), "sk-il-x");
  EXPECT_EQ(ExtractApiKey("bearer   sk-il-x  ", ""), "sk-il-x");
  EXPECT_EQ(ExtractApiKey("", "sk-il-y"), "sk-il-y");
  EXPECT_EQ(ExtractApiKey("Basic abc", ""), "");
  EXPECT_EQ(ExtractApiKey("", ""), "");
}

TEST(Plans, BuiltInDefaultIsTheSeedQuota) {
  PlanCatalog plans;
  const quota::Limits* d = plans.Find("default");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->requests_per_day, 100);
  EXPECT_EQ(d->tokens_per_day, 100000);
  EXPECT_FALSE(d->tokens_per_minute.has_value());
  ASSERT_NE(plans.Find("unlimited"), nullptr);
  EXPECT_FALSE(plans.Find("unlimited")->tokens_per_day.has_value());
}

TEST(Plans, YamlAddsAndReplacesPlans) {
  PlanCatalog plans;
  YAML::Node n = YAML::Load(
      "free: {requests_per_day: 10, tokens_per_day: 1000}\n"
      "pro: {tokens_per_minute: 5000, max_concurrent: 4, tokens_per_month: null}\n"
      "default: {tokens_per_day: 7}\n");
  ASSERT_TRUE(plans.ApplyYaml(n, "test").ok());
  EXPECT_EQ(plans.Find("free")->requests_per_day, 10);
  EXPECT_EQ(plans.Find("pro")->concurrent_requests, 4);
  EXPECT_FALSE(plans.Find("pro")->tokens_per_month.has_value());
  EXPECT_EQ(plans.Find("default")->tokens_per_day, 7);
  EXPECT_FALSE(plans.Find("default")->requests_per_day.has_value());
}

TEST(Plans, YamlErrorsNameTheProblem) {
  PlanCatalog plans;
  Status st = plans.ApplyYaml(YAML::Load("free: {tokens_per_year: 1}"), "plans.yaml");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tokens_per_year"), std::string::npos);
  st = plans.ApplyYaml(YAML::Load("free: {tokens_per_day: -5}"), "plans.yaml");
  EXPECT_NE(st.message().find("tokens_per_day"), std::string::npos);
  EXPECT_FALSE(plans.ApplyYaml(YAML::Load("[1, 2]"), "x").ok());
}

TEST(Plans, OverridesReplaceRemoveOrInherit) {
  quota::Limits plan;
  plan.tokens_per_day = 100;
  plan.requests_per_day = 10;
  auto o = ParseOverrides(json::parse(R"({"tokens_per_day": 5, "requests_per_day": null,
                                          "max_concurrent": 2})"));
  ASSERT_TRUE(o.ok());
  quota::Limits eff = ApplyOverrides(plan, *o);
  EXPECT_EQ(eff.tokens_per_day, 5);
  EXPECT_FALSE(eff.requests_per_day.has_value());
  EXPECT_EQ(eff.concurrent_requests, 2);
  // Round trip through the stored form.
  auto back = ParseOverridesJson(OverridesToJson(*o));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(OverridesToJson(*back), OverridesToJson(*o));
  // Merge: the patch wins per key, others stay.
  auto patch = ParseOverrides(json::parse(R"({"tokens_per_day": 9})"));
  LimitOverrides merged = MergeOverrides(*o, *patch);
  EXPECT_EQ(ApplyOverrides(plan, merged).tokens_per_day, 9);
  EXPECT_EQ(ApplyOverrides(plan, merged).concurrent_requests, 2);
}

TEST(Plans, BadOverridesNameTheKey) {
  EXPECT_EQ(ParseOverrides(json::parse(R"({"tokens_per_day": -1})")).status().param(),
            "limits.tokens_per_day");
  EXPECT_EQ(ParseOverrides(json::parse(R"({"bogus": 1})")).status().param(), "limits.bogus");
  EXPECT_EQ(ParseOverrides(json::parse(R"({"tokens_per_day": 1.5})")).status().param(),
            "limits.tokens_per_day");
  EXPECT_FALSE(ParseOverrides(json::parse("[]")).ok());
  EXPECT_TRUE(OverridesOrEmpty("not json").empty());
}

TEST(RateLimiter, BucketRefillsAtTheRate) {
  RateLimiter rl(2.0, 3.0);
  auto t0 = RateLimiter::Clock::now();
  std::chrono::seconds retry{0};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Allow("ip", t0, &retry));
  EXPECT_FALSE(rl.Allow("ip", t0, &retry));
  EXPECT_EQ(retry.count(), 1);
  EXPECT_TRUE(rl.Allow("other", t0, &retry));  // keys are independent
  EXPECT_TRUE(rl.Allow("ip", t0 + std::chrono::milliseconds(500), &retry));
  EXPECT_FALSE(rl.Allow("ip", t0 + std::chrono::milliseconds(500), &retry));
}

TEST(RateLimiter, DisabledAlwaysAllowsAndMemoryIsBounded) {
  RateLimiter off(0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.Allow("x", RateLimiter::Clock::now(), nullptr));
  RateLimiter rl(1.0, 1.0, 10);
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 100; ++i) (void)rl.Allow("k" + std::to_string(i), t, nullptr);
  EXPECT_LE(rl.size(), 10u);
}

TEST(OpenAiFormat, CompletionAndChatShapes) {
  ResponseHeader h{"req_1", 1700000000, "kjv-small", protocol::RequestKind::kCompletion};
  json::object c = CompletionResponse(h, "In the", "length", store::TokenUsage{3, 2});
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"].as_array()[0].as_object().at("text"), "In the");
  EXPECT_TRUE(c["choices"].as_array()[0].as_object().at("logprobs").is_null());
  EXPECT_EQ(c["usage"].as_object().at("total_tokens"), 5);
  h.kind = protocol::RequestKind::kChat;
  json::object chat = CompletionResponse(h, "Amen", "stop", store::TokenUsage{4, 1});
  EXPECT_EQ(chat["object"], "chat.completion");
  const auto& msg = chat["choices"].as_array()[0].as_object().at("message").as_object();
  EXPECT_EQ(msg.at("role"), "assistant");
  EXPECT_EQ(msg.at("content"), "Amen");
}

TEST(OpenAiFormat, ChunksFollowOpenAi) {
  ResponseHeader h{"req_1", 1, "m", protocol::RequestKind::kChat};
  json::object first = CompletionChunk(h, "", std::nullopt, true, true);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  const auto& choice = first["choices"].as_array()[0].as_object();
  EXPECT_EQ(choice.at("delta").as_object().at("role"), "assistant");
  EXPECT_TRUE(choice.at("finish_reason").is_null());
  EXPECT_TRUE(first["usage"].is_null());
  json::object last = CompletionChunk(h, "", "stop", false, false);
  EXPECT_TRUE(last["choices"].as_array()[0].as_object().at("delta").as_object().empty());
  EXPECT_FALSE(last.contains("usage"));
  json::object usage = UsageChunk(h, store::TokenUsage{1, 2});
  EXPECT_TRUE(usage["choices"].as_array().empty());
  EXPECT_EQ(usage["usage"].as_object().at("completion_tokens"), 2);
  h.kind = protocol::RequestKind::kCompletion;
  EXPECT_EQ(CompletionChunk(h, "x", std::nullopt, false, false)["object"], "text_completion");
}

TEST(EventData, TokenTextAndTerminalResults) {
  EXPECT_EQ(TokenText(R"({"text":" the"})"), " the");
  EXPECT_EQ(TokenText(R"({"token":"a"})"), "a");
  EXPECT_FALSE(TokenText("nope").has_value());
  events::Event ev{7, events::EventType::kCompleted,
                   R"({"output_text":"abc","finish_reason":"stop",
                       "usage":{"prompt_tokens":2,"completion_tokens":3}})"};
  auto f = FinalFromEvent(ev);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->output_text, "abc");
  EXPECT_EQ(f->usage->total(), 5);
  // A completed event without the usage must be completed from the record.
  EXPECT_FALSE(FinalFromEvent({1, events::EventType::kCompleted, R"({"status":"completed"})"}));
  auto failed = FinalFromEvent({2, events::EventType::kFailed,
                                R"({"error":{"code":"boom","message":"it broke"}})"});
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->status, store::RequestStatus::kFailed);
  EXPECT_EQ(failed->error_code, "boom");
}

TEST(EventData, SynthesizedTerminalEventCarriesTheRecord) {
  store::RequestRecord rec;
  rec.id = "req_x";
  rec.status = store::RequestStatus::kCompleted;
  rec.output_text = "done";
  rec.finish_reason = "length";
  rec.usage = store::TokenUsage{1, 2};
  auto f = FinalFromEvent({3, TerminalEventFor(rec.status), TerminalEventData(rec)});
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->output_text, "done");
  EXPECT_EQ(f->usage->completion_tokens, 2);
  json::object doc = RequestDocument(rec);
  EXPECT_EQ(doc["status"], "completed");
  EXPECT_EQ(doc["result"].as_object().at("text"), "done");
}

TEST(EventInbox, KeepsEveryEventOrOnlyTheTerminalOne) {
  auto ev = [](int64_t id, events::EventType type) {
    events::Event e;
    e.id = id;
    e.type = type;
    return e;
  };
  const std::vector<events::Event> sent = {ev(1, events::EventType::kQueued),
                                           ev(2, events::EventType::kStarted),
                                           ev(3, events::EventType::kToken),
                                           ev(4, events::EventType::kCompleted)};
  auto all = std::make_shared<EventInbox>();
  auto terminal = std::make_shared<EventInbox>(/*terminal_only=*/true);
  events::EventCallback to_all = all->Callback(), to_terminal = terminal->Callback();
  for (const auto& e : sent) {
    to_all(e);
    to_terminal(e);
  }
  std::vector<events::Event> got = all->Drain();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2].type, events::EventType::kToken);
  got = terminal->Drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 4);
  EXPECT_EQ(got[0].type, events::EventType::kCompleted);
  EXPECT_TRUE(terminal->Drain().empty());
}

TEST(Headers, ResetDurationsAreGoStyle) {
  using std::chrono::milliseconds;
  EXPECT_EQ(FormatResetDuration(milliseconds(20)), "20ms");
  EXPECT_EQ(FormatResetDuration(milliseconds(1000)), "1s");
  EXPECT_EQ(FormatResetDuration(milliseconds(360000)), "6m0s");
  EXPECT_EQ(FormatResetDuration(milliseconds(3723000)), "1h2m3s");
  EXPECT_EQ(FormatResetDuration(milliseconds(-5)), "0ms");
  EXPECT_EQ(WindowDisplayName(quota::Window::kDailyTokens), "tokens per day");
  EXPECT_EQ(Rfc3339(store::Time(std::chrono::milliseconds(1500))), "1970-01-01T00:00:01.500Z");
}

}  // namespace
}  // namespace inferline::gateway
