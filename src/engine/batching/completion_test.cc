// The per-token stop rules on the shipped tokenizer: EOS, stop strings, max_tokens, abort.
#include "engine/batching/completion.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace inferline::engine {
namespace {

std::unique_ptr<Tokenizer> KjvTokenizer() {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  auto t = Tokenizer::Load(std::filesystem::path(root ? root : ".") / "models" / "kjv-small");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(*t) : nullptr;
}

// Feeds ids until the completion finishes; returns the concatenated stream.
std::string Feed(Completion& c, const std::vector<int32_t>& ids) {
  std::string streamed;
  for (int32_t id : ids) {
    Completion::Update u = c.Add(id);
    streamed += u.text;
    if (u.finished) break;
  }
  return streamed;
}

TEST(CompletionTest, LengthEosAndStopStrings) {
  auto tok = KjvTokenizer();
  ASSERT_TRUE(tok);
  const std::vector<int32_t> ids = tok->Encode(" and the LORD said unto Moses, Go");
  ASSERT_GE(ids.size(), 6u);

  Completion length(*tok, {}, {}, 3, false);
  const std::string three = Feed(length, ids);
  EXPECT_EQ(length.finish_reason(), "length");
  EXPECT_EQ(length.output_ids().size(), 3u);
  EXPECT_EQ(three, tok->Decode(std::vector<int32_t>(ids.begin(), ids.begin() + 3)));
  EXPECT_EQ(length.text(), three);

  Completion eos(*tok, {}, {ids[2]}, 100, false);
  EXPECT_EQ(Feed(eos, ids), tok->Decode(std::vector<int32_t>(ids.begin(), ids.begin() + 2)));
  EXPECT_EQ(eos.finish_reason(), "stop");
  EXPECT_EQ(eos.output_ids().size(), 3u);  // the EOS token is counted

  Completion ignore(*tok, {}, {ids[2]}, 4, true);
  Feed(ignore, ids);
  EXPECT_EQ(ignore.finish_reason(), "length");

  Completion stop(*tok, {"LORD"}, {}, 100, false);
  const std::string streamed = Feed(stop, ids);
  EXPECT_EQ(stop.finish_reason(), "stop");
  EXPECT_EQ(stop.text(), " and the ");
  EXPECT_EQ(streamed, stop.text());
}

TEST(CompletionTest, AbortReleasesTheHeldBackTail) {
  auto tok = KjvTokenizer();
  ASSERT_TRUE(tok);
  const std::vector<int32_t> ids = tok->Encode(" and the LORD");
  Completion c(*tok, {" and the LORD spake"}, {}, 100, false);
  EXPECT_EQ(Feed(c, ids), "");  // all of it could still become the stop string
  EXPECT_FALSE(c.finished());
  EXPECT_EQ(c.Abort("cancelled"), " and the LORD");
  EXPECT_EQ(c.finish_reason(), "cancelled");
  EXPECT_EQ(c.text(), " and the LORD");
  EXPECT_EQ(c.Abort("error"), "");  // already finished
  EXPECT_EQ(c.finish_reason(), "cancelled");
}

}  // namespace
}  // namespace inferline::engine
