#include "engine/tokenizer/split_patterns.h"

#include <string>

#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The text as code points with their byte offsets; cls caches the class of each.
class Chars {
 public:
  enum Class : uint8_t { kOther, kLetter, kNumber, kSpace };

  explicit Chars(std::string_view text) {
    // At most one code point per byte: one allocation each instead of one per doubling.
    cps_.reserve(text.size());
    cls_.reserve(text.size());
    offsets_.reserve(text.size() + 1);
    size_t pos = 0;
    while (pos < text.size()) {
      offsets_.push_back(pos);
      const char32_t cp = unicode::NextCodePoint(text, &pos);
      cps_.push_back(cp);
      const uint8_t f = cp == unicode::kInvalidCodePoint ? 0 : unicode::CategoryFlags(cp);
      cls_.push_back(f & unicode::kLetter   ? kLetter
                     : f & unicode::kNumber ? kNumber
                     : unicode::IsWhitespace(cp) ? kSpace
                                                 : kOther);
    }
    offsets_.push_back(text.size());
  }
  size_t size() const { return cps_.size(); }
  char32_t cp(size_t i) const { return i < cps_.size() ? cps_[i] : 0; }
  Class cls(size_t i) const { return i < cls_.size() ? cls_[i] : kOther; }
  bool Is(size_t i, Class c) const { return i < cls_.size() && cls_[i] == c; }
  bool IsNewline(size_t i) const { return i < cps_.size() && (cps_[i] == '\r' || cps_[i] == '\n'); }
  size_t offset(size_t i) const { return offsets_[i]; }
  // End of the run of class `c` starting at i.
  size_t RunEnd(size_t i, Class c) const {
    while (i < size() && cls_[i] == c) ++i;
    return i;
  }

 private:
  std::vector<char32_t> cps_;
  std::vector<Class> cls_;
  std::vector<size_t> offsets_;
};

char32_t FoldAscii(char32_t c, bool ignore_case) {
  if (!ignore_case) return c;
  if (c == 0x17F) return 's';  // LATIN SMALL LETTER LONG S case-folds to 's'
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// 's|'t|'re|'ve|'m|'ll|'d at i: the match length in characters, or 0.
size_t Contraction(const Chars& c, size_t i, bool ignore_case) {
  if (c.cp(i) != '\'' || i + 1 >= c.size()) return 0;
  const char32_t a = FoldAscii(c.cp(i + 1), ignore_case);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= c.size()) return 0;
  const char32_t b = FoldAscii(c.cp(i + 2), ignore_case);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// \s+(?!\S)|\s+ at i (a space): the whole run at the end of text or before more space, else
// the run minus its last character, unless that leaves nothing.
size_t TrailingSpace(const Chars& c, size_t i) {
  const size_t j = c.RunEnd(i, Chars::kSpace);
  if (j == c.size() || j - i == 1) return j - i;
  return j - 1 - i;
}

size_t MatchGpt2(const Chars& c, size_t i) {
  if (size_t n = Contraction(c, i, false)) return n;
  const size_t start = (c.cp(i) == ' ' && i + 1 < c.size() && !c.Is(i + 1, Chars::kSpace)) ? i + 1
                                                                                            : i;
  const Chars::Class k = c.cls(start);
  if (k != Chars::kSpace) return c.RunEnd(start, k) - i;  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?other+`
  return TrailingSpace(c, i);
}

size_t MatchLlama3(const Chars& c, size_t i, size_t max_digits) {
  if (size_t n = Contraction(c, i, true)) return n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.Is(i, Chars::kLetter)) return c.RunEnd(i, Chars::kLetter) - i;
  if (!c.IsNewline(i) && !c.Is(i, Chars::kNumber) && c.Is(i + 1, Chars::kLetter)) {
    return c.RunEnd(i + 1, Chars::kLetter) - i;
  }
  // \p{N}{1,max}
  if (c.Is(i, Chars::kNumber)) {
    const size_t j = c.RunEnd(i, Chars::kNumber);
    return std::min(j - i, max_digits);
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  size_t k = SIZE_MAX;
  if (c.Is(i, Chars::kOther)) k = i;
  else if (c.cp(i) == ' ' && c.Is(i + 1, Chars::kOther)) k = i + 1;
  if (k != SIZE_MAX) {
    size_t j = c.RunEnd(k, Chars::kOther);
    while (c.IsNewline(j)) ++j;
    return j - i;
  }
  // \s*[\r\n]+ : up to and including the last newline of the space run.
  const size_t j = c.RunEnd(i, Chars::kSpace);
  for (size_t m = j; m > i; --m) {
    if (c.IsNewline(m - 1)) return m - i;
  }
  return TrailingSpace(c, i);
}

}  // namespace

std::optional<SplitPattern> RecognizeSplitPattern(std::string_view regex) {
  if (regex == kGpt2Regex) return SplitPattern::kGpt2;
  if (regex == kLlama3Regex) return SplitPattern::kLlama3;
  if (regex == kQwen2Regex) return SplitPattern::kQwen2;
  return std::nullopt;
}

std::vector<Span> FindPatternMatches(SplitPattern pattern, std::string_view text) {
  const Chars c(text);
  std::vector<Span> spans;
  spans.reserve(c.size() / 4 + 1);  // a word of a few characters each, usually
  size_t i = 0;
  while (i < c.size()) {
    size_t n = 0;
    switch (pattern) {
      case SplitPattern::kGpt2: n = MatchGpt2(c, i); break;
      case SplitPattern::kLlama3: n = MatchLlama3(c, i, 3); break;
      case SplitPattern::kQwen2: n = MatchLlama3(c, i, 1); break;
    }
    if (n == 0) n = 1;  // cannot happen with these patterns; never loop forever
    spans.emplace_back(c.offset(i), c.offset(i + n));
    i += n;
  }
  return spans;
}

}  // namespace inferline::engine
