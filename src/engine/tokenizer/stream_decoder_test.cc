#include <cstdlib>

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("INFERLINE_SOURCE_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::current_path();
}

const std::vector<std::string>& Texts() {
  static const std::vector<std::string> texts = {
      "In the beginning God created the heaven and the earth.",
      "\u4e2d\u6587 \U0001F600\U0001F469\u200D\U0001F469\u200D\U0001F467 e\u0301 \u0939\u093f",
      "  spaces \t tabs \n\n newlines 12345 <|endoftext|> after",
      "\U0001F1FA\U0001F1F8\U0001F44D\U0001F3FD",
  };
  return texts;
}

// Streams ids one at a time and checks the pieces against Decode of the whole, and that no
// piece ever ends inside a character.
void CheckStream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  StreamDecoder stream(tok, skip);
  std::string joined;
  for (int32_t id : ids) {
    const std::string piece = stream.Push(id);
    EXPECT_EQ(unicode::ToValidUtf8(piece), piece) << "a piece ends inside a character";
    joined += piece;
  }
  joined += stream.Flush();
  EXPECT_EQ(joined, tok.Decode(ids, skip));
}

TEST(StreamDecoderTest, ByteLevelMatchesDecode) {
  auto tok = Tokenizer::Load(SourceDir() / "models/kjv-small");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (const auto& t : Texts()) {
    const auto ids = (*tok)->Encode(t);
    CheckStream(**tok, ids, true);
    CheckStream(**tok, ids, false);
  }
}

TEST(StreamDecoderTest, ByteFallbackAndStripMatchDecode) {
  auto tok = Tokenizer::Load(SourceDir() / "tests/golden/tokenizer/sp-bpe");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (const auto& t : Texts()) {
    auto ids = (*tok)->Encode(t, /*add_special_tokens=*/true);
    CheckStream(**tok, ids, true);
    CheckStream(**tok, ids, false);
  }
}

TEST(StreamDecoderTest, HoldsBackSplitCharacters) {
  auto tok = Tokenizer::Load(SourceDir() / "models/kjv-small");
  ASSERT_TRUE(tok.ok());
  // "€" is E2 82 AC: with byte-level tokens for each byte the first two yield nothing.
  std::vector<int32_t> bytes;
  for (unsigned char b : std::string("\u20ac")) {
    const auto ids = (*tok)->Encode(std::string(1, static_cast<char>(b)));
    bytes.insert(bytes.end(), ids.begin(), ids.end());
  }
  ASSERT_EQ(bytes.size(), 3u);
  StreamDecoder stream(**tok);
  EXPECT_EQ(stream.Push(bytes[0]), "");
  EXPECT_EQ(stream.Push(bytes[1]), "");
  EXPECT_EQ(stream.Push(bytes[2]), "\u20ac");
  EXPECT_EQ(stream.Flush(), "");

  // An unfinished character at the end comes out of Flush as U+FFFD.
  StreamDecoder cut(**tok);
  EXPECT_EQ(cut.Push(bytes[0]), "");
  EXPECT_EQ(cut.Push(bytes[1]), "");
  EXPECT_EQ(cut.Flush(), "\uFFFD");
}

TEST(StreamDecoderTest, StripsOnlyTheFirstLeadingSpace) {
  auto tok = Tokenizer::Load(SourceDir() / "tests/golden/tokenizer/sp-bpe");
  ASSERT_TRUE(tok.ok());
  const auto ids = (*tok)->Encode("And God said");
  StreamDecoder stream(**tok);
  std::string out;
  std::vector<std::string> pieces;
  for (int32_t id : ids) {
    pieces.push_back(stream.Push(id));
    out += pieces.back();
  }
  out += stream.Flush();
  EXPECT_EQ(out, "And God said");
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], "And");
  EXPECT_EQ(pieces[1], " God");
}

// A long run of tokens that decode to nothing (here ids outside the vocabulary) must not cost
// the context: a space after it still follows the earlier text, so Strip keeps it. Found by
// the tokenizer fuzzer with 64 such ids between a byte token and "▁".
TEST(StreamDecoderTest, ALongRunOfEmptyTokensKeepsTheContext) {
  auto tok = Tokenizer::Load(SourceDir() / "tests/golden/tokenizer/sp-bpe");
  ASSERT_TRUE(tok.ok());
  const auto word = (*tok)->Encode("And");
  const auto space = (*tok)->Encode(" God");
  ASSERT_FALSE(word.empty());
  ASSERT_FALSE(space.empty());
  for (int run : {0, 1, 63, 64, 65, 200}) {
    SCOPED_TRACE(run);
    std::vector<int32_t> ids = word;
    ids.insert(ids.end(), run, (*tok)->vocab_size() + 7);
    ids.insert(ids.end(), space.begin(), space.end());
    CheckStream(**tok, ids, true);
    CheckStream(**tok, ids, false);
    // Nothing but empty tokens first: the first text is stripped as Decode strips it.
    std::vector<int32_t> leading(run, -1);
    leading.insert(leading.end(), space.begin(), space.end());
    CheckStream(**tok, leading, true);
  }
}

// "▁" under Strip decodes to nothing when it comes first, yet it is text: the space of a
// second "▁" after it survives Decode's Strip, and must survive the stream's too, however
// many empty tokens lie between. Found by the tokenizer fuzzer (a window restarted past 64
// empty tokens had dropped the first "▁" as if it had no text).
TEST(StreamDecoderTest, ATokenStrippedToNothingStaysContext) {
  auto tok = Tokenizer::Load(SourceDir() / "tests/golden/tokenizer/sp-bpe");
  ASSERT_TRUE(tok.ok());
  const std::optional<int32_t> space = (*tok)->TokenId("\u2581");
  ASSERT_TRUE(space.has_value());
  const auto word = (*tok)->Encode("And");
  for (int run : {0, 1, 63, 64, 65, 200}) {
    SCOPED_TRACE(run);
    std::vector<int32_t> ids(run, -1);
    ids.push_back(*space);
    ids.insert(ids.end(), run, (*tok)->vocab_size() + 7);
    ids.push_back(*space);
    ids.insert(ids.end(), word.begin(), word.end());
    CheckStream(**tok, ids, true);
    CheckStream(**tok, ids, false);
  }
}

}  // namespace
}  // namespace inferline::engine
