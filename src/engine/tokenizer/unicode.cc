#include "engine/tokenizer/unicode.h"

#include <algorithm>

#include "engine/tokenizer/unicode_tables.h"

namespace inferline::engine::unicode {
namespace {

// For a lead byte: total sequence length and the allowed range of the second byte (Unicode
// Table 3-7), or length 0 when the byte cannot start a sequence.
struct LeadInfo {
  int len;
  uint8_t lo, hi;
};

LeadInfo Lead(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// Number of bytes of s[pos..] that form a well-formed prefix of the sequence starting there
// (stops at the first byte that cannot continue it), and the total it needs.
int ValidPrefix(std::string_view s, size_t pos, int* needed) {
  const LeadInfo li = Lead(static_cast<uint8_t>(s[pos]));
  *needed = li.len;
  if (li.len <= 1) return li.len;
  int n = 1;
  for (; n < li.len && pos + n < s.size(); ++n) {
    const auto b = static_cast<uint8_t>(s[pos + n]);
    const uint8_t lo = (n == 1) ? li.lo : 0x80, hi = (n == 1) ? li.hi : 0xBF;
    if (b < lo || b > hi) break;
  }
  return n;
}

template <class T>
const T* FindRange(const T* table, size_t count, char32_t cp) {
  const T* end = table + count;
  const T* it = std::upper_bound(table, end, cp, [](char32_t c, const T& r) { return c < r.lo; });
  if (it == table) return nullptr;
  --it;
  return cp <= it->hi ? it : nullptr;
}

}  // namespace

char32_t NextCodePoint(std::string_view s, size_t* pos) {
  int needed = 0;
  const int n = ValidPrefix(s, *pos, &needed);
  if (needed == 0 || n < needed) {
    ++*pos;
    return kInvalidCodePoint;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(s.data() + *pos);
  char32_t cp;
  switch (needed) {
    case 1: cp = p[0]; break;
    case 2: cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu); break;
    case 3: cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu); break;
    default:
      cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
           (p[3] & 0x3Fu);
  }
  *pos += needed;
  return cp;
}

void AppendUtf8(std::string* out, char32_t cp) {
  if (cp >= 0x110000 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacementChar;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint8_t CategoryFlags(char32_t cp) {
  if (cp < 0x80) {  // fast path for ASCII
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return kLetter;
    if (cp >= '0' && cp <= '9') return kNumber;
  }
  const auto* r = FindRange(kCategoryRanges, kCategoryRangeCount, cp);
  return r ? r->value : 0;
}

bool IsWhitespace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsWordChar(char32_t cp) {
  if (cp == '_' || cp == 0x203F || cp == 0x2040 || cp == 0x2054 || cp == 0xFE33 ||
      cp == 0xFE34 || (cp >= 0xFE4D && cp <= 0xFE4F) || cp == 0xFF3F) {
    return true;  // connector punctuation (Pc)
  }
  return CategoryFlags(cp) & (kLetter | kNumber | kMark);
}

std::string ToValidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    int needed = 0;
    const int n = ValidPrefix(bytes, i, &needed);
    if (needed > 0 && n == needed) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      AppendUtf8(&out, kReplacementChar);
      i += std::max(n, 1);
    }
  }
  return out;
}

size_t IncompleteUtf8Tail(std::string_view bytes) {
  // A sequence is at most 4 bytes, so only the last 3 can start an unfinished one.
  const size_t from = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (size_t start = from; start < bytes.size(); ++start) {
    int needed = 0;
    const int n = ValidPrefix(bytes, start, &needed);
    if (needed > 1 && start + n == bytes.size() && n < needed) return bytes.size() - start;
  }
  return 0;
}

uint8_t CombiningClass(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* r = FindRange(kCombiningClass, kCombiningClassCount, cp);
  return r ? r->value : 0;
}

}  // namespace inferline::engine::unicode
