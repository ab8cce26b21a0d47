// Pre-tokenizers from tokenizer.json ("pre_tokenizer"): split normalized text into the pieces
// ("words") that BPE encodes independently.
//
// Supported: ByteLevel (add_prefix_space, use_regex with GPT-2's pattern), Split (a known regex
// from split_patterns.h or a literal string; all five HF behaviours and invert), Digits,
// Punctuation, Whitespace, WhitespaceSplit, Metaspace, Sequence, and null. ByteLevel also maps
// each piece's bytes to GPT-2's printable characters, as HF does.
//
// Thread-safety: immutable after construction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/status.h"

namespace inferline::engine {

struct Piece {
  std::string text;
  bool at_start = false;  // begins at offset 0 of the original input (Metaspace "first")
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces *pieces by their refinement.
  virtual void Split(std::vector<Piece>* pieces) const = 0;
};

// nullptr for JSON null. Unknown types and unknown regexes are errors naming them.
[[nodiscard]] Result<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const boost::json::value& v);

}  // namespace inferline::engine
