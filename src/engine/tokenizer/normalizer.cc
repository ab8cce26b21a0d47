#include "engine/tokenizer/normalizer.h"

#include <vector>

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void Apply(std::string* text) const override {
    for (const auto& p : parts_) p->Apply(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void Apply(std::string* text) const override {
    if (!text->empty()) text->insert(0, prefix_);  // HF leaves empty text empty
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}
  void Apply(std::string* text) const override { ReplaceAll(text, from_, to_); }

 private:
  std::string from_, to_;
};

class NfcNormalizer final : public Normalizer {
 public:
  void Apply(std::string* text) const override { *text = unicode::NormalizeNfc(*text); }
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Apply(std::string* text) const override {
    size_t begin = 0, end = text->size();
    if (left_) {
      size_t pos = 0;
      while (pos < end) {
        size_t next = pos;
        if (!unicode::IsWhitespace(unicode::NextCodePoint(*text, &next))) break;
        pos = next;
      }
      begin = pos;
    }
    if (right_) {
      // Walk forward remembering where the trailing whitespace run starts.
      size_t pos = begin, run = end;
      bool in_run = false;
      while (pos < end) {
        const size_t at = pos;
        const bool ws = unicode::IsWhitespace(unicode::NextCodePoint(*text, &pos));
        if (ws && !in_run) run = at;
        in_run = ws;
      }
      if (in_run) end = run;
    }
    *text = text->substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

}  // namespace

void ReplaceAll(std::string* text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = text->find(from, pos);
    if (hit == std::string::npos) break;
    out.append(*text, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  if (pos == 0) return;
  out.append(*text, pos, std::string::npos);
  *text = std::move(out);
}

Result<std::string> StringPattern(const boost::json::value& pattern, std::string_view where) {
  const auto* obj = pattern.if_object();
  if (obj != nullptr) {
    if (const auto* s = obj->if_contains("String"); s && s->is_string()) {
      if (s->get_string().empty()) {
        return InvalidArgument(fmt::format("tokenizer.json: {} has an empty pattern", where));
      }
      return std::string(s->get_string());
    }
    if (obj->contains("Regex")) {
      return Unimplemented(
          fmt::format("tokenizer.json: {} with a Regex pattern is not supported", where));
    }
  }
  return InvalidArgument(fmt::format("tokenizer.json: {} has no valid 'pattern'", where));
}

Result<std::unique_ptr<Normalizer>> ParseNormalizer(const boost::json::value& v) {
  if (v.is_null()) return std::unique_ptr<Normalizer>();
  const auto* obj = v.if_object();
  const auto* type_v = obj ? obj->if_contains("type") : nullptr;
  if (type_v == nullptr || !type_v->is_string()) {
    return InvalidArgument("tokenizer.json: a normalizer has no 'type'");
  }
  const std::string type(type_v->get_string());
  const std::string what = fmt::format("tokenizer.json: normalizer {}", type);
  if (type == "Sequence") {
    const auto* list = obj->if_contains("normalizers");
    if (list == nullptr || !list->is_array()) {
      return InvalidArgument(what + ": 'normalizers' must be an array");
    }
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& item : list->get_array()) {
      ASSIGN_OR_RETURN(auto n, ParseNormalizer(item));
      if (n) parts.push_back(std::move(n));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(parts)));
  }
  if (type == "Prepend") {
    ASSIGN_OR_RETURN(auto prefix, json::GetString(*obj, "prepend", what));
    if (!prefix) return InvalidArgument(what + ": 'prepend' is missing");
    return std::unique_ptr<Normalizer>(new PrependNormalizer(*prefix));
  }
  if (type == "Replace") {
    const auto* pattern = obj->if_contains("pattern");
    if (pattern == nullptr) return InvalidArgument(what + ": 'pattern' is missing");
    ASSIGN_OR_RETURN(std::string from, StringPattern(*pattern, "normalizer Replace"));
    ASSIGN_OR_RETURN(auto to, json::GetString(*obj, "content", what));
    return std::unique_ptr<Normalizer>(new ReplaceNormalizer(from, to.value_or("")));
  }
  if (type == "NFC") return std::unique_ptr<Normalizer>(new NfcNormalizer());
  if (type == "Strip") {
    ASSIGN_OR_RETURN(auto left, json::GetBool(*obj, "strip_left", what));
    ASSIGN_OR_RETURN(auto right, json::GetBool(*obj, "strip_right", what));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left.value_or(true), right.value_or(true)));
  }
  return Unimplemented(fmt::format("tokenizer.json: normalizer type '{}' is not supported", type));
}

}  // namespace inferline::engine
