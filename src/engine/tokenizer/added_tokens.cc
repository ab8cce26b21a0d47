#include "engine/tokenizer/added_tokens.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

constexpr std::string_view kWhat = "tokenizer.json: added_tokens";

// The code point that ends just before `end` (or kInvalidCodePoint at the start or after an
// ill-formed byte); *start receives where it begins.
char32_t CodePointBefore(std::string_view s, size_t end, size_t* start = nullptr) {
  if (end == 0) return unicode::kInvalidCodePoint;
  size_t begin = end - 1;
  while (begin > 0 && end - begin < 4 && (static_cast<uint8_t>(s[begin]) & 0xC0) == 0x80) --begin;
  size_t pos = begin;
  const char32_t cp = unicode::NextCodePoint(s, &pos);
  if (start != nullptr) *start = begin;
  return pos == end ? cp : unicode::kInvalidCodePoint;
}

bool WordAt(std::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  const char32_t cp = unicode::NextCodePoint(s, &pos);
  return cp != unicode::kInvalidCodePoint && unicode::IsWordChar(cp);
}

}  // namespace

Status AddedVocabulary::Load(const boost::json::value& added_tokens) {
  if (added_tokens.is_null()) return Status::Ok();
  const auto* arr = added_tokens.if_array();
  if (arr == nullptr) return InvalidArgument(fmt::format("{} must be an array", kWhat));
  for (const auto& v : *arr) {
    const auto* obj = v.if_object();
    if (obj == nullptr) return InvalidArgument(fmt::format("{}: an entry is not an object", kWhat));
    AddedToken t;
    ASSIGN_OR_RETURN(auto id, json::GetInt(*obj, "id", kWhat));
    ASSIGN_OR_RETURN(auto content, json::GetString(*obj, "content", kWhat));
    if (!id || *id < 0 || *id > BpeModel::kMaxTokenId || !content || content->empty()) {
      return InvalidArgument(fmt::format("{}: each entry needs a valid 'id' and non-empty 'content'",
                                         kWhat));
    }
    t.id = static_cast<int32_t>(*id);
    t.content = *content;
    ASSIGN_OR_RETURN(auto special, json::GetBool(*obj, "special", kWhat));
    ASSIGN_OR_RETURN(auto lstrip, json::GetBool(*obj, "lstrip", kWhat));
    ASSIGN_OR_RETURN(auto rstrip, json::GetBool(*obj, "rstrip", kWhat));
    ASSIGN_OR_RETURN(auto single_word, json::GetBool(*obj, "single_word", kWhat));
    ASSIGN_OR_RETURN(auto normalized, json::GetBool(*obj, "normalized", kWhat));
    t.special = special.value_or(false);
    t.lstrip = lstrip.value_or(false);
    t.rstrip = rstrip.value_or(false);
    t.single_word = single_word.value_or(false);
    t.normalized = normalized.value_or(!t.special);
    if (by_content_.count(t.content) || by_id_.count(t.id)) {
      continue;  // HF keeps the first definition of a repeated token
    }
    by_id_[t.id] = tokens_.size();
    by_content_[t.content] = tokens_.size();
    max_id_ = std::max(max_id_, t.id);
    tokens_.push_back(std::move(t));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    by_first_byte_[static_cast<uint8_t>(tokens_[i].content[0])].push_back(i);
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
  return Status::Ok();
}

std::vector<AddedVocabulary::Segment> AddedVocabulary::Split(std::string_view text) const {
  std::vector<Segment> out;
  size_t plain_start = 0;  // start of the pending plain-text segment
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (size_t idx : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const AddedToken& t = tokens_[idx];
      if (text.compare(pos, t.content.size(), t.content) != 0) continue;
      if (t.single_word) {
        const char32_t before = CodePointBefore(text, pos);
        if ((before != unicode::kInvalidCodePoint && unicode::IsWordChar(before)) ||
            WordAt(text, pos + t.content.size())) {
          continue;
        }
      }
      hit = &t;
      break;
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = pos + hit->content.size();
    if (hit->lstrip) {
      while (begin > plain_start) {
        size_t start = 0;
        const char32_t cp = CodePointBefore(text, begin, &start);
        if (cp == unicode::kInvalidCodePoint || !unicode::IsWhitespace(cp) || start < plain_start) {
          break;
        }
        begin = start;
      }
    }
    if (hit->rstrip) {
      while (end < text.size()) {
        size_t next = end;
        const char32_t cp = unicode::NextCodePoint(text, &next);
        if (cp == unicode::kInvalidCodePoint || !unicode::IsWhitespace(cp)) break;
        end = next;
      }
    }
    if (begin > plain_start) out.push_back({plain_start, begin, -1});
    out.push_back({begin, end, hit->id});
    plain_start = pos = end;
  }
  if (plain_start < text.size()) out.push_back({plain_start, text.size(), -1});
  return out;
}

const AddedToken* AddedVocabulary::ById(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::IdOf(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

}  // namespace inferline::engine
