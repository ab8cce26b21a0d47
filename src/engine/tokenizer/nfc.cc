// NFC normalization (Unicode UAX #15): full canonical decomposition, canonical ordering, then
// canonical composition. Qwen2-style tokenizers declare an NFC normalizer.
#include <algorithm>
#include <vector>

#include "engine/tokenizer/unicode.h"
#include "engine/tokenizer/unicode_tables.h"

namespace inferline::engine::unicode {
namespace {

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void Decompose(char32_t cp, std::vector<char32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = kDecompositions + kDecompositionCount;
  const auto* it = std::lower_bound(kDecompositions, end, cp,
                                    [](const Decomposition& d, char32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) {
    out->push_back(cp);
    return;
  }
  Decompose(it->first, out);
  if (it->second != 0) Decompose(it->second, out);
}

// The primary composite of (a, b), or 0.
char32_t Compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const auto* end = kCompositions + kCompositionCount;
  const auto* it = std::lower_bound(kCompositions, end, std::pair(a, b),
                                    [](const Composition& c, std::pair<char32_t, char32_t> k) {
                                      return std::pair<char32_t, char32_t>(c.first, c.second) < k;
                                    });
  return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

void NormalizeRun(const std::vector<char32_t>& in, std::string* out) {
  std::vector<char32_t> d;
  d.reserve(in.size() + 4);
  for (char32_t cp : in) Decompose(cp, &d);
  // Canonical ordering: stable sort each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (CombiningClass(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && CombiningClass(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j, [](char32_t a, char32_t b) {
      return CombiningClass(a) < CombiningClass(b);
    });
    i = j;
  }
  // Composition: each character combines with the last starter unless blocked.
  std::vector<char32_t> c;
  c.reserve(d.size());
  size_t starter = SIZE_MAX;
  int last_ccc = -1;
  for (char32_t cp : d) {
    const int ccc = CombiningClass(cp);
    if (starter != SIZE_MAX) {
      const bool blocked = last_ccc != -1 && (last_ccc == 0 || last_ccc >= ccc);
      if (!blocked) {
        if (char32_t comp = Compose(c[starter], cp)) {
          c[starter] = comp;
          continue;
        }
      }
    }
    if (ccc == 0) {
      starter = c.size();
      last_ccc = -1;
    } else {
      last_ccc = ccc;
    }
    c.push_back(cp);
  }
  for (char32_t cp : c) AppendUtf8(out, cp);
}

}  // namespace

std::string NormalizeNfc(std::string_view s) {
  // Everything below U+0300 is already NFC; its UTF-8 never contains a byte >= 0xCC.
  if (std::none_of(s.begin(), s.end(), [](char ch) { return static_cast<uint8_t>(ch) >= 0xCC; })) {
    return std::string(s);
  }
  std::string out;
  out.reserve(s.size());
  std::vector<char32_t> run;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t start = pos;
    const char32_t cp = NextCodePoint(s, &pos);
    if (cp == kInvalidCodePoint) {
      NormalizeRun(run, &out);
      run.clear();
      out.append(s.substr(start, pos - start));
      continue;
    }
    run.push_back(cp);
  }
  NormalizeRun(run, &out);
  return out;
}

}  // namespace inferline::engine::unicode
