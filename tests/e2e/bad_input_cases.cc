// The bad-input catalogue of the end-to-end suites (bad_input_cases.h).
#include "bad_input_cases.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "e2e_client.h"

namespace inferline::e2e {
namespace {

enum class Key { kAlice, kNone, kWrong, kRevoked };

struct Case {
  const char* name;
  const char* method;
  std::string path;
  std::string body;
  unsigned status;
  std::string param;  // expected error.param ("" = check the message for `mention` instead)
  std::string mention = {};
  Key key = Key::kAlice;
  std::string headers = {};
};

const std::string kComp = "/v1/completions";
const std::string kChat = "/v1/chat/completions";

std::string C(const std::string& extra) {
  return R"({"model":"kjv-small","prompt":"In the beginning")" + extra + "}";
}
std::string M(const std::string& messages) {
  return R"({"model":"kjv-small","messages":)" + messages + "}";
}

std::vector<Case> Catalogue() {
  std::string long_prompt;
  for (int i = 0; i < 400; ++i) long_prompt += "and the earth ";
  return {
      {"bad json", "POST", kComp, "{\"model\":", 400, "", "JSON"},
      {"json array", "POST", kComp, "[1,2]", 400, "", "object"},
      {"empty body", "POST", kComp, "", 400, "", "JSON"},
      {"missing model", "POST", kComp, R"({"prompt":"x"})", 400, "model"},
      {"model not a string", "POST", kComp, R"({"model":5,"prompt":"x"})", 400, "model"},
      {"missing prompt", "POST", kComp, R"({"model":"kjv-small"})", 400, "prompt"},
      {"empty prompt", "POST", kComp, R"({"model":"kjv-small","prompt":""})", 400, "prompt"},
      {"prompt a number", "POST", kComp, R"({"model":"kjv-small","prompt":123})", 400, "prompt"},
      {"several prompts", "POST", kComp, R"({"model":"kjv-small","prompt":["a","b"]})", 400,
       "prompt"},
      {"max_tokens a string", "POST", kComp, C(R"(,"max_tokens":"10")"), 400, "max_tokens"},
      {"max_tokens zero", "POST", kComp, C(R"(,"max_tokens":0)"), 400, "max_tokens"},
      {"max_tokens negative", "POST", kComp, C(R"(,"max_tokens":-5)"), 400, "max_tokens"},
      {"max_tokens fractional", "POST", kComp, C(R"(,"max_tokens":1.5)"), 400, "max_tokens"},
      {"max_tokens beyond context", "POST", kComp, C(R"(,"max_tokens":300)"), 400, "max_tokens"},
      {"temperature too high", "POST", kComp, C(R"(,"temperature":3)"), 400, "temperature"},
      {"temperature negative", "POST", kComp, C(R"(,"temperature":-0.1)"), 400, "temperature"},
      {"temperature a string", "POST", kComp, C(R"(,"temperature":"hot")"), 400, "temperature"},
      {"top_p above one", "POST", kComp, C(R"(,"top_p":1.5)"), 400, "top_p"},
      {"top_p negative", "POST", kComp, C(R"(,"top_p":-1)"), 400, "top_p"},
      {"top_k a string", "POST", kComp, C(R"(,"top_k":"x")"), 400, "top_k"},
      {"repetition_penalty zero", "POST", kComp, C(R"(,"repetition_penalty":0)"), 400,
       "repetition_penalty"},
      {"presence_penalty out of range", "POST", kComp, C(R"(,"presence_penalty":3)"), 400,
       "presence_penalty"},
      {"frequency_penalty out of range", "POST", kComp, C(R"(,"frequency_penalty":-3)"), 400,
       "frequency_penalty"},
      {"stop a number", "POST", kComp, C(R"(,"stop":5)"), 400, "stop"},
      {"too many stops", "POST", kComp, C(R"(,"stop":["a","b","c","d","e"])"), 400, "stop"},
      {"empty stop", "POST", kComp, C(R"(,"stop":[""])"), 400, "stop"},
      {"n above one", "POST", kComp, C(R"(,"n":2)"), 400, "n"},
      {"stream not a bool", "POST", kComp, C(R"(,"stream":"yes")"), 400, "stream"},
      {"stream_options without stream", "POST", kComp,
       C(R"(,"stream_options":{"include_usage":true})"), 400, "stream_options"},
      {"unknown field", "POST", kComp, C(R"(,"foo":1)"), 400, "foo"},
      {"seed a string", "POST", kComp, C(R"(,"seed":"abc")"), 400, "seed"},
      {"logit_bias", "POST", kComp, C(R"(,"logit_bias":{"1":5})"), 400, "logit_bias"},
      {"unknown model", "POST", kComp, R"({"model":"gpt-4","prompt":"x"})", 404, "model"},
      {"prompt beyond context", "POST", kComp,
       R"({"model":"kjv-small","prompt":")" + long_prompt + R"("})", 400, "prompt"},
      {"messages missing", "POST", kChat, R"({"model":"kjv-small"})", 400, "messages"},
      {"messages empty", "POST", kChat, M("[]"), 400, "messages"},
      {"messages a string", "POST", kChat, M(R"("hi")"), 400, "messages"},
      {"unknown role", "POST", kChat, M(R"([{"role":"wizard","content":"x"}])"), 400,
       "messages[0].role"},
      {"content missing", "POST", kChat, M(R"([{"role":"user"}])"), 400, "messages[0].content"},
      {"content a number", "POST", kChat, M(R"([{"role":"user","content":5}])"), 400,
       "messages[0].content"},
      {"image content", "POST", kChat,
       M(R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}])"), 400,
       "messages[0].content"},
      {"async prompt and messages", "POST", "/v1/requests",
       R"({"model":"kjv-small","prompt":"x","messages":[{"role":"user","content":"y"}]})", 400,
       "messages"},
      {"async priority out of range", "POST", "/v1/requests", C(R"(,"priority":99)"), 400,
       "priority"},
      {"async timeout zero", "POST", "/v1/requests", C(R"(,"timeout_seconds":0)"), 400,
       "timeout_seconds"},
      {"async stream", "POST", "/v1/requests", C(R"(,"stream":true)"), 400, "stream"},
      {"missing key", "POST", kComp, C(""), 401, "", "API key", Key::kNone},
      {"wrong key", "POST", kComp, C(""), 401, "", "API key", Key::kWrong},
      {"revoked key", "POST", kComp, C(""), 401, "", "revoked", Key::kRevoked},
      {"unknown request", "GET", "/v1/requests/req_doesnotexist", "", 404, "id"},
      {"bad Last-Event-ID", "GET", "/v1/requests/req_doesnotexist/events", "", 404, "id"},
      {"admin with a user key", "GET", "/v1/admin/plans", "", 403, "", "admin"},
      {"admin bad limits", "PATCH", "/v1/admin/users/alice", R"({"limits":{"tokens_per_day":-1}})",
       400, "limits.tokens_per_day"},
      {"unknown route", "GET", "/v1/nothing", "", 404, "", "/v1/nothing"},
      {"wrong method", "PUT", kComp, C(""), 405, "", "PUT"},
  };
}

}  // namespace

void CheckBadInputCatalogue(uint16_t port, const std::string& admin, const std::string& alice) {
  // A key to revoke, through the admin API.
  auto created = Call(port, "POST", "/v1/admin/keys", R"({"user":"mallory"})", admin);
  ASSERT_EQ(created->status, 201u);
  std::string revoked = std::string(created->Json()["key"].as_string());
  std::string revoked_id = std::string(created->Json()["id"].as_string());
  ASSERT_EQ(Call(port, "DELETE", "/v1/admin/keys/" + revoked_id, {}, admin)->status, 200u);

  std::vector<Case> cases = Catalogue();
  ASSERT_GE(cases.size(), 40u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string key;
    switch (c.key) {
      case Key::kAlice: key = c.path.find("/admin/") != std::string::npos &&
                                      c.method != std::string("GET")
                                  ? admin
                                  : alice;
        break;
      case Key::kNone: break;
      case Key::kWrong: key = "sk-il-0000000000000000000000000000000000000000"; break;
      case Key::kRevoked: key = revoked; break;
    }
    auto r = Call(port, c.method, c.path, c.body, key, c.headers);
    ASSERT_TRUE(r) << "no answer";
    EXPECT_EQ(r->status, c.status) << r->body;
    std::string message = r->ErrorField("message");
    EXPECT_FALSE(message.empty()) << r->body;
    if (!c.param.empty()) {
      EXPECT_EQ(r->ErrorField("param"), c.param) << r->body;
      EXPECT_NE(message.find(c.param.substr(0, c.param.find('['))), std::string::npos)
          << "message does not name " << c.param << ": " << message;
    } else {
      EXPECT_NE(message.find(c.mention), std::string::npos) << message;
    }
  }

  // The original system's endpoint answers bad input in its own shape, naming the field.
  auto seed = Call(port, "POST", "/api/gateway", R"({"prompt":"x","max_length":"ten"})", alice);
  EXPECT_EQ(seed->status, 400u);
  EXPECT_EQ(seed->Json()["success"], false);
  EXPECT_EQ(seed->Json()["param"], "max_length");
  // A body over the limit (1 MiB) is refused before it is read in full.
  std::string huge(2 << 20, 'a');
  auto big = Call(port, "POST", kComp, huge, alice);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413u);
  // Last-Event-ID that is not a number, on an existing request.
  auto ok = Call(port, "POST", "/v1/requests", C(R"(,"max_tokens":2)"), alice);
  ASSERT_EQ(ok->status, 202u);
  std::string id(ok->Json()["request_id"].as_string());
  auto bad_id = Call(port, "GET", "/events/" + id, {}, alice, "Last-Event-ID: abc\r\n");
  EXPECT_EQ(bad_id->status, 400u);
  EXPECT_EQ(bad_id->ErrorField("param"), "Last-Event-ID");

  // Still serving.
  EXPECT_EQ(Call(port, "GET", "/healthz")->status, 200u);
  auto good = Call(port, "POST", kComp, C(R"(,"max_tokens":3)"), alice);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200u) << good->body;
}

}  // namespace inferline::e2e
