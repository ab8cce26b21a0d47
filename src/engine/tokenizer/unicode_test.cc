#include "engine/tokenizer/unicode.h"

#include <gtest/gtest.h>

#include "engine/tokenizer/byte_level.h"

namespace inferline::engine::unicode {
namespace {

TEST(UnicodeTest, DecodesAndEncodesUtf8) {
  const std::string s = "a\u00e9\u4e2d\U0001F600";
  size_t pos = 0;
  EXPECT_EQ(NextCodePoint(s, &pos), U'a');
  EXPECT_EQ(NextCodePoint(s, &pos), U'\u00e9');
  EXPECT_EQ(NextCodePoint(s, &pos), U'\u4e2d');
  EXPECT_EQ(NextCodePoint(s, &pos), U'\U0001F600');
  EXPECT_EQ(pos, s.size());
  std::string out;
  for (char32_t cp : {U'a', U'\u00e9', U'\u4e2d', U'\U0001F600'}) AppendUtf8(&out, cp);
  EXPECT_EQ(out, s);
}

TEST(UnicodeTest, IllFormedBytesAreSingleInvalidCodePoints) {
  const std::string bad = "\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80\xE4\xB8";  // overlong, surrogate, >10FFFF, cut
  size_t pos = 0, count = 0;
  while (pos < bad.size()) {
    EXPECT_EQ(NextCodePoint(bad, &pos), kInvalidCodePoint);
    ++count;
  }
  EXPECT_EQ(count, bad.size());
}

TEST(UnicodeTest, LossyConversionUsesMaximalSubparts) {
  EXPECT_EQ(ToValidUtf8("ok"), "ok");
  EXPECT_EQ(ToValidUtf8("\xE4\xB8"), "\uFFFD");        // one truncated sequence
  EXPECT_EQ(ToValidUtf8("\xE4\xB8x"), "\uFFFDx");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\uFFFD\uFFFD");  // C0 can never start a sequence
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98"), "\uFFFD");
  EXPECT_EQ(ToValidUtf8("\xFF"), "\uFFFD");
}

TEST(UnicodeTest, IncompleteTail) {
  EXPECT_EQ(IncompleteUtf8Tail(""), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("abc"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xE4"), 1u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xE4\xB8"), 2u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xE4\xB8\xAD"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xFF"), 0u);      // can never complete: not held back
  EXPECT_EQ(IncompleteUtf8Tail("a\xE0\x80"), 0u);  // E0 80 is already ill-formed
}

TEST(UnicodeTest, Categories) {
  EXPECT_TRUE(IsLetter(U'a'));
  EXPECT_TRUE(IsLetter(U'\u00e9'));
  EXPECT_TRUE(IsLetter(U'\u4e2d'));      // CJK (Lo)
  EXPECT_TRUE(IsLetter(U'\u05d0'));      // Hebrew alef
  EXPECT_FALSE(IsLetter(U'\u0301'));     // combining acute is a mark
  EXPECT_TRUE(IsMark(U'\u0301'));
  EXPECT_TRUE(IsNumber(U'7'));
  EXPECT_TRUE(IsNumber(U'\u0663'));      // Arabic-Indic three (Nd)
  EXPECT_TRUE(IsNumber(U'\u2167'));      // Roman numeral eight (Nl)
  EXPECT_TRUE(IsNumber(U'\u00bd'));      // one half (No)
  EXPECT_FALSE(IsLetter(U'\U0001F600'));
  EXPECT_FALSE(IsNumber(U'\U0001F600'));
  EXPECT_TRUE(IsPunctuation(U'!'));
  EXPECT_TRUE(IsPunctuation(U'\u3002'));  // ideographic full stop
  EXPECT_FALSE(IsPunctuation(U'+'));     // a symbol
  for (char32_t ws : {U' ', U'\t', U'\n', U'\r', U'\u00a0', U'\u3000', U'\u2009', U'\u0085'}) {
    EXPECT_TRUE(IsWhitespace(ws)) << static_cast<uint32_t>(ws);
  }
  EXPECT_FALSE(IsWhitespace(U'\u200b'));  // zero-width space is not White_Space
  EXPECT_FALSE(IsWhitespace(U'\x1c'));    // Python's isspace says yes; the regex engine no
  EXPECT_TRUE(IsWordChar(U'_'));
  EXPECT_FALSE(IsWordChar(U'-'));
}

TEST(UnicodeTest, Nfc) {
  EXPECT_EQ(NormalizeNfc("plain ascii"), "plain ascii");
  EXPECT_EQ(NormalizeNfc("e\u0301"), "\u00e9");
  EXPECT_EQ(NormalizeNfc("\u1100\u1161\u11a8"), "\uac01");  // Hangul L V T
  EXPECT_EQ(NormalizeNfc("a\u0301\u0323"), "\u1ea1\u0301");  // reordered, then composed
  EXPECT_EQ(NormalizeNfc("\u212b"), "\u00c5");               // angstrom sign singleton
  EXPECT_EQ(NormalizeNfc("A\u030a\u0301"), "\u01fa");
  EXPECT_EQ(NormalizeNfc("q\u0307\u0323"), "q\u0323\u0307");
  EXPECT_EQ(NormalizeNfc("\u00e9\xff"), "\u00e9\xff");       // ill-formed bytes pass through
}

TEST(ByteLevelTest, MapsEveryByteReversibly) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string mapped;
  ByteLevelEncode(all, &mapped);
  std::string back;
  ASSERT_TRUE(ByteLevelDecode(mapped, &back));
  EXPECT_EQ(back, all);
  std::string space;
  ByteLevelEncode(" ", &space);
  EXPECT_EQ(space, "\u0120");  // "Ġ"
  std::string nl;
  ByteLevelEncode("\n", &nl);
  EXPECT_EQ(nl, "\u010a");  // "Ċ"
  std::string out;
  EXPECT_FALSE(ByteLevelDecode("a b", &out));  // a real space is not in the table
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace inferline::engine::unicode
