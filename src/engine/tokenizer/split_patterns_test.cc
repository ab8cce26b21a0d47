#include "engine/tokenizer/split_patterns.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferline::engine {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Split(SplitPattern p, std::string_view text) {
  std::vector<std::string> out;
  size_t expect_begin = 0;
  for (auto [b, e] : FindPatternMatches(p, text)) {
    EXPECT_EQ(b, expect_begin) << "spans must tile the text";
    out.emplace_back(text.substr(b, e - b));
    expect_begin = e;
  }
  EXPECT_EQ(expect_begin, text.size());
  return out;
}

TEST(SplitPatternsTest, RecognisesKnownRegexes) {
  EXPECT_EQ(RecognizeSplitPattern(
                R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
            SplitPattern::kGpt2);
  EXPECT_EQ(
      RecognizeSplitPattern(
          R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"),
      SplitPattern::kLlama3);
  EXPECT_EQ(
      RecognizeSplitPattern(
          R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"),
      SplitPattern::kQwen2);
  EXPECT_FALSE(RecognizeSplitPattern(R"(\w+|[^\w\s]+)").has_value());
}

TEST(SplitPatternsTest, Gpt2) {
  const auto p = SplitPattern::kGpt2;
  EXPECT_THAT(Split(p, "Hello world"), ElementsAre("Hello", " world"));
  EXPECT_THAT(Split(p, "I'm he's"), ElementsAre("I", "'m", " he", "'s"));
  EXPECT_THAT(Split(p, "I'M"), ElementsAre("I", "'", "M"));  // case-sensitive contractions
  EXPECT_THAT(Split(p, "a   b"), ElementsAre("a", "  ", " b"));
  EXPECT_THAT(Split(p, "x  "), ElementsAre("x", "  "));
  EXPECT_THAT(Split(p, "12345abc"), ElementsAre("12345", "abc"));
  EXPECT_THAT(Split(p, "hi !!?"), ElementsAre("hi", " !!?"));
  EXPECT_THAT(Split(p, "\n\nfoo"), ElementsAre("\n", "\n", "foo"));
  EXPECT_THAT(Split(p, "\t x"), ElementsAre("\t", " x"));
  EXPECT_THAT(Split(p, "caf\u00e9 \u4e2d\u6587"), ElementsAre("caf\u00e9", " \u4e2d\u6587"));
  EXPECT_THAT(Split(p, "e\u0301"), ElementsAre("e", "\u0301"));  // a mark is not \p{L}
  EXPECT_THAT(Split(p, "a\u00a0b"), ElementsAre("a", "\u00a0", "b"));
  EXPECT_THAT(Split(p, ""), ElementsAre());
}

TEST(SplitPatternsTest, Llama3AndQwen2) {
  const auto p = SplitPattern::kLlama3;
  EXPECT_THAT(Split(p, "12345"), ElementsAre("123", "45"));
  EXPECT_THAT(Split(SplitPattern::kQwen2, "123"), ElementsAre("1", "2", "3"));
  EXPECT_THAT(Split(p, "I'M HE'S"), ElementsAre("I", "'M", " HE", "'S"));
  EXPECT_THAT(Split(p, "(God said"), ElementsAre("(God", " said"));
  EXPECT_THAT(Split(p, "end.\n\nNext"), ElementsAre("end", ".\n\n", "Next"));
  EXPECT_THAT(Split(p, "a\n\n b"), ElementsAre("a", "\n\n", " b"));
  EXPECT_THAT(Split(p, "a \n  \n  b"), ElementsAre("a", " \n  \n", " ", " b"));
  EXPECT_THAT(Split(p, "\tword"), ElementsAre("\tword"));
  EXPECT_THAT(Split(p, "x   "), ElementsAre("x", "   "));
  EXPECT_THAT(Split(p, "a  ?!"), ElementsAre("a", " ", " ?!"));
  EXPECT_THAT(Split(p, "\xff\xfe"), ElementsAre("\xff\xfe"));  // ill-formed bytes are "other"
}

}  // namespace
}  // namespace inferline::engine
