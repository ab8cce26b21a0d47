// UTF-8 and Unicode character classes for the tokenizer.
//
// Text reaching the tokenizer is normally valid UTF-8, but nothing here assumes it: NextCodePoint
// reports each byte that does not start a well-formed sequence as kInvalidCodePoint (length 1),
// so splitting and byte-level encoding stay lossless on arbitrary bytes. Lossy conversion for
// output follows the Unicode "maximal subpart" practice (one U+FFFD per maximal ill-formed
// subsequence), as Rust's from_utf8_lossy and Python's decode(errors="replace") do.
//
// Character classes come from generated range tables (gen_unicode_tables.py); whitespace is the
// Unicode White_Space property, which is what \s means in the regex engines HF tokenizers use.
//
// Thread-safety: pure functions over constant tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace inferline::engine::unicode {

inline constexpr char32_t kInvalidCodePoint = 0x110000;
inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at s[*pos] and advances *pos past it (at least one byte). Returns
// kInvalidCodePoint, advancing one byte, where no well-formed sequence starts.
char32_t NextCodePoint(std::string_view s, size_t* pos);

void AppendUtf8(std::string* out, char32_t cp);

inline constexpr uint8_t kLetter = 1, kNumber = 2, kMark = 4, kPunctuation = 8;
uint8_t CategoryFlags(char32_t cp);
inline bool IsLetter(char32_t cp) { return CategoryFlags(cp) & kLetter; }
inline bool IsNumber(char32_t cp) { return CategoryFlags(cp) & kNumber; }
inline bool IsMark(char32_t cp) { return CategoryFlags(cp) & kMark; }
inline bool IsPunctuation(char32_t cp) { return CategoryFlags(cp) & kPunctuation; }
bool IsWhitespace(char32_t cp);
// Regex \w: letters, marks, numbers and connector punctuation ('_' and friends).
bool IsWordChar(char32_t cp);

// Replaces ill-formed subsequences with U+FFFD.
std::string ToValidUtf8(std::string_view bytes);
// Length (0-3) of a trailing sequence that is a proper prefix of a well-formed character: the
// bytes a streaming decoder must hold back until the rest arrives.
size_t IncompleteUtf8Tail(std::string_view bytes);

// Canonical composition (NFC). Ill-formed bytes are passed through unchanged.
std::string NormalizeNfc(std::string_view s);
uint8_t CombiningClass(char32_t cp);

}  // namespace inferline::engine::unicode
