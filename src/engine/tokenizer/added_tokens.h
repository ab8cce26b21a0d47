// Added tokens (tokenizer.json "added_tokens"): special and user-added tokens that are matched
// in the raw text before normalization and pre-tokenization, and never split by BPE.
//
// Matching is leftmost, longest first. lstrip / rstrip make a match swallow the whitespace on
// that side; single_word refuses a match that touches a word character on either side.
//
// Thread-safety: immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "common/status.h"

namespace inferline::engine {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

class AddedVocabulary {
 public:
  [[nodiscard]] Status Load(const boost::json::value& added_tokens);

  struct Segment {
    size_t begin, end;  // byte range in the text
    int32_t id;         // the added token, or -1 for plain text to tokenize
  };
  std::vector<Segment> Split(std::string_view text) const;

  const AddedToken* ById(int32_t id) const;
  std::optional<int32_t> IdOf(std::string_view content) const;
  bool IsSpecial(int32_t id) const {
    const auto* t = ById(id);
    return t != nullptr && t->special;
  }
  int32_t max_id() const { return max_id_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  // Token indices by first byte, longest content first.
  std::array<std::vector<size_t>, 256> by_first_byte_;
  int32_t max_id_ = -1;
};

}  // namespace inferline::engine
