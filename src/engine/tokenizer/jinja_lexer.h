// Jinja lexing: splitting template source into text and tags (applying whitespace control and
// HF's trim_blocks + lstrip_blocks), and tokenizing the expressions inside tags. Internal to
// the jinja_*.cc files.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::engine::jinja {

struct Tag {
  enum Kind { kText, kExpr, kStmt } kind;
  std::string body;
};

// Template text and the bodies of {{ }} and {% %} tags (comments dropped).
[[nodiscard]] Result<std::vector<Tag>> SplitTags(std::string_view src);

struct Token {
  enum Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
  int64_t i = 0;
  double f = 0;
};

// Tokens of one tag body, ending with a kEnd token.
[[nodiscard]] Result<std::vector<Token>> Lex(std::string_view s);

}  // namespace inferline::engine::jinja
