// Normalizers from tokenizer.json ("normalizer"): text rewrites applied to each segment of the
// input that is not an added token, before pre-tokenization.
//
// Supported: Sequence, Prepend, Replace (String pattern), NFC, Strip, and null. Anything else
// is refused at load time with an error naming the type, rather than silently mis-tokenizing.
//
// Thread-safety: immutable after construction.
#pragma once

#include <memory>
#include <string>

#include <boost/json.hpp>

#include "common/status.h"

namespace inferline::engine {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void Apply(std::string* text) const = 0;
};

// nullptr for a JSON null (no normalizer).
[[nodiscard]] Result<std::unique_ptr<Normalizer>> ParseNormalizer(const boost::json::value& v);

// Replaces every occurrence of `from` (non-empty) in *text with `to`.
void ReplaceAll(std::string* text, std::string_view from, std::string_view to);

// The literal of a {"String": "..."} pattern; an error for {"Regex": ...} or anything else.
[[nodiscard]] Result<std::string> StringPattern(const boost::json::value& pattern,
                                                std::string_view where);

}  // namespace inferline::engine
