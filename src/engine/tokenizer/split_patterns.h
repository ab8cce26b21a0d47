// Hand-written matchers for the pre-tokenizer regexes of known byte-level BPE tokenizers.
//
// HF tokenizers split text with Oniguruma regexes that use Unicode classes (\p{L}, \p{N}, \s)
// and a lookahead; std::regex cannot evaluate those on UTF-8. The handful of patterns real
// models use are recognised by their exact text and evaluated by code that reproduces the
// regex engine's leftmost-first, greedy-with-backtracking semantics:
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   kQwen2:  kLlama3 with \p{N} (single digits) instead of \p{N}{1,3}.
// A byte that is not valid UTF-8 counts as "other" (neither letter, number nor space).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace inferline::engine {

enum class SplitPattern { kGpt2, kLlama3, kQwen2 };

// The matcher for a regex given in tokenizer.json, or nullopt if it is not a known one.
std::optional<SplitPattern> RecognizeSplitPattern(std::string_view regex);

using Span = std::pair<size_t, size_t>;  // [begin, end) byte offsets

// Byte spans of successive non-overlapping matches (these patterns match every position, so
// the spans tile `text`).
std::vector<Span> FindPatternMatches(SplitPattern pattern, std::string_view text);

}  // namespace inferline::engine
