// End-to-end: POST /tokenize and /detokenize against `inferline serve`. The ids agree with the
// `inferline tokenize` command line and with what /v1/completions and /v1/chat/completions bill
// as usage.prompt_tokens.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "e2e_fixture.h"

namespace inferline::e2e {
namespace {
namespace json = boost::json;

// Runs `inferline tokenize --jsonl FLAGS` on one input line (a JSON value) and returns the ids it
// prints.
std::vector<int64_t> CliIds(const std::string& json_line, const std::string& flags) {
  // The text goes through a file so that no shell quoting is involved.
  char path[] = "/tmp/inferline-tokenize-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  {
    std::FILE* f = std::fopen(path, "w");
    std::fwrite(json_line.data(), 1, json_line.size(), f);
    std::fputc('\n', f);
    std::fclose(f);
  }
  std::string cmd = fmt::format("{} tokenize {} --jsonl < {}",
                                ServerProcess::Binary().string(), flags, path);
  std::FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out;
  std::remove(path);
  std::vector<int64_t> ids;
  std::istringstream in(out);
  for (int64_t id; in >> id;) ids.push_back(id);
  return ids;
}

std::vector<int64_t> Ids(const json::value& tokens) {
  std::vector<int64_t> ids;
  for (const auto& t : tokens.as_array()) ids.push_back(t.as_int64());
  return ids;
}

TEST_F(E2E, TokenizeAgreesWithTheCliAndWithBilledUsage) {
  const std::string prompt = "And God said, Let there be light: and there was light.";
  auto t = Call(port(), "POST", "/tokenize",
                json::serialize(json::object{{"model", "kjv-small"}, {"prompt", prompt},
                                             {"max_tokens", 6}}),
                alice_);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200u) << t->body;
  json::object tb = t->Json();
  const std::vector<int64_t> ids = Ids(tb["tokens"]);
  EXPECT_EQ(tb["count"].as_int64(), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(tb["reserve"].as_int64(), tb["count"].as_int64() + 6);
  EXPECT_EQ(tb["max_model_len"].as_int64(), 256);
  EXPECT_EQ(CliIds(json::serialize(json::value(prompt)), "--special"), ids);

  auto c = Call(port(), "POST", "/v1/completions",
                json::serialize(json::object{{"model", "kjv-small"}, {"prompt", prompt},
                                             {"max_tokens", 6}}),
                alice_);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->status, 200u) << c->body;
  EXPECT_EQ(c->Json()["usage"].as_object()["prompt_tokens"].as_int64(), tb["count"].as_int64());
}

TEST_F(E2E, TokenizeMessagesAgreesWithChatCompletionUsage) {
  json::array messages{json::object{{"role", "system"}, {"content", "Answer briefly."}},
                       json::object{{"role", "user"}, {"content", "Who made the light?"}}};
  auto t = Call(port(), "POST", "/v1/tokenize",
                json::serialize(json::object{{"model", "kjv-small"}, {"messages", messages}}),
                alice_);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200u) << t->body;
  auto c = Call(port(), "POST", "/v1/chat/completions",
                json::serialize(json::object{{"model", "kjv-small"}, {"messages", messages},
                                             {"max_tokens", 4}}),
                alice_);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->status, 200u) << c->body;
  EXPECT_EQ(c->Json()["usage"].as_object()["prompt_tokens"].as_int64(),
            t->Json()["count"].as_int64());
  EXPECT_EQ(CliIds(json::serialize(messages), "--chat"), Ids(t->Json()["tokens"]));
}

TEST_F(E2E, DetokenizeRoundTripsUnicodeAndRefusesBadIds) {
  const std::string text = "tabs\there, emoji \xF0\x9F\x98\x80, e\xCC\x81 combining\n\n\nend";
  auto t = Call(port(), "POST", "/tokenize",
                json::serialize(json::object{{"model", "kjv-small"}, {"prompt", text}}), alice_);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200u) << t->body;
  json::array tokens = t->Json()["tokens"].as_array();
  auto d = Call(port(), "POST", "/detokenize",
                json::serialize(json::object{{"model", "kjv-small"}, {"tokens", tokens}}),
                alice_);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->status, 200u) << d->body;
  // The gateway's ids start with BOS for a completion prompt; decoding keeps special tokens.
  std::string back(d->Json()["prompt"].as_string());
  EXPECT_NE(back.find(text), std::string::npos) << back;

  auto bad = Call(port(), "POST", "/detokenize", R"({"model":"kjv-small","tokens":[0,-1]})",
                  alice_);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400u);
  EXPECT_EQ(bad->ErrorField("param"), "tokens[1]");
  auto no_key = Call(port(), "POST", "/tokenize", R"({"model":"kjv-small","prompt":"x"})");
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 401u);
}

}  // namespace
}  // namespace inferline::e2e
