#include "engine/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/split_patterns.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

enum class Behavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Splits `piece` around the match spans (sorted, non-overlapping) as HF's
// NormalizedString::split does; empty pieces are dropped.
void SplitBySpans(const Piece& piece, std::vector<Span> spans, Behavior behavior, bool invert,
                  std::vector<Piece>* out) {
  const std::string& s = piece.text;
  // Each part is [begin, end) and whether it is a match.
  struct Part {
    size_t b, e;
    bool match;
  };
  std::vector<Part> parts;
  parts.reserve(2 * spans.size() + 1);
  size_t pos = 0;
  for (const auto& [b, e] : spans) {
    if (b > pos) parts.push_back({pos, b, invert});
    if (e > b) parts.push_back({b, e, !invert});
    pos = e;
  }
  if (pos < s.size()) parts.push_back({pos, s.size(), invert});

  std::vector<Span> result;
  result.reserve(parts.size());
  bool prev_match = false;
  for (const auto& p : parts) {
    switch (behavior) {
      case Behavior::kIsolated: result.push_back({p.b, p.e}); break;
      case Behavior::kRemoved:
        if (!p.match) result.push_back({p.b, p.e});
        break;
      case Behavior::kContiguous:
        if (p.match && prev_match && !result.empty()) result.back().second = p.e;
        else result.push_back({p.b, p.e});
        break;
      case Behavior::kMergedWithPrevious:
        if (p.match && !result.empty() && !prev_match) result.back().second = p.e;
        else result.push_back({p.b, p.e});
        break;
      case Behavior::kMergedWithNext:
        result.push_back({p.b, p.e});  // merged below, right to left as HF does
        break;
    }
    prev_match = p.match;
  }
  if (behavior == Behavior::kMergedWithNext) {
    // A match joins the piece after it unless that piece is itself a match.
    std::vector<Span> merged;
    bool next_match = false;
    for (size_t i = parts.size(); i-- > 0;) {
      if (parts[i].match && !next_match && !merged.empty()) merged.back().first = parts[i].b;
      else merged.push_back({parts[i].b, parts[i].e});
      next_match = parts[i].match;
    }
    result.assign(merged.rbegin(), merged.rend());
  }
  for (const auto& [b, e] : result) {
    if (e > b) out->push_back({s.substr(b, e - b), piece.at_start && b == 0});
  }
}

// Spans of characters satisfying `pred`, each character its own span.
template <class Pred>
std::vector<Span> CharSpans(std::string_view s, Pred pred, bool runs) {
  std::vector<Span> spans;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t at = pos;
    const char32_t cp = unicode::NextCodePoint(s, &pos);
    if (!pred(cp)) continue;
    if (runs && !spans.empty() && spans.back().second == at) spans.back().second = pos;
    else spans.push_back({at, pos});
  }
  return spans;
}

class FnPreTokenizer final : public PreTokenizer {
 public:
  using SpanFn = std::function<std::vector<Span>(std::string_view)>;
  FnPreTokenizer(SpanFn fn, Behavior behavior, bool invert)
      : fn_(std::move(fn)), behavior_(behavior), invert_(invert) {}
  void Split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> out;
    for (const auto& p : *pieces) SplitBySpans(p, fn_(p.text), behavior_, invert_, &out);
    *pieces = std::move(out);
  }

 private:
  SpanFn fn_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void Split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> split;
    for (auto& p : *pieces) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      if (use_regex_) {
        SplitBySpans(p, FindPatternMatches(SplitPattern::kGpt2, p.text), Behavior::kIsolated,
                     false, &split);
      } else {
        split.push_back(std::move(p));
      }
    }
    for (auto& p : split) {
      std::string mapped;
      ByteLevelEncode(p.text, &mapped);
      p.text = std::move(mapped);
    }
    *pieces = std::move(split);
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  MetaspacePreTokenizer(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void Split(std::vector<Piece>* pieces) const override {
    std::vector<Piece> out;
    for (auto& p : *pieces) {
      ReplaceAll(&p.text, " ", replacement_);
      const bool starts = p.text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && p.at_start))) {
        p.text.insert(0, replacement_);
      }
      if (!split_) {
        out.push_back(std::move(p));
        continue;
      }
      std::vector<Span> spans;
      for (size_t pos = p.text.find(replacement_); pos != std::string::npos;
           pos = p.text.find(replacement_, pos + replacement_.size())) {
        spans.push_back({pos, pos + replacement_.size()});
      }
      SplitBySpans(p, spans, Behavior::kMergedWithNext, false, &out);
    }
    *pieces = std::move(out);
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void Split(std::vector<Piece>* pieces) const override {
    for (const auto& p : parts_) p->Split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

Result<Behavior> ParseBehavior(const boost::json::object& obj, std::string_view what) {
  ASSIGN_OR_RETURN(auto b, json::GetString(obj, "behavior", what));
  const std::string name = b.value_or("Isolated");
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return InvalidArgument(fmt::format("{}: unknown behavior '{}'", what, name));
}

Result<std::unique_ptr<PreTokenizer>> ParseSplit(const boost::json::object& obj,
                                                  const std::string& what) {
  ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(obj, what));
  ASSIGN_OR_RETURN(auto invert, json::GetBool(obj, "invert", what));
  const auto* pattern = obj.if_contains("pattern");
  const auto* pobj = pattern ? pattern->if_object() : nullptr;
  if (pobj == nullptr) return InvalidArgument(what + ": 'pattern' must be an object");
  FnPreTokenizer::SpanFn fn;
  if (const auto* re = pobj->if_contains("Regex"); re && re->is_string()) {
    auto known = RecognizeSplitPattern(re->get_string());
    if (!known) {
      return Unimplemented(fmt::format(
          "{}: regex '{}' is not one of the known pre-tokenizer patterns (GPT-2, Llama-3, Qwen2)",
          what, std::string_view(re->get_string())));
    }
    fn = [p = *known](std::string_view s) { return FindPatternMatches(p, s); };
  } else {
    ASSIGN_OR_RETURN(std::string literal, StringPattern(*pattern, "pre_tokenizer Split"));
    fn = [literal](std::string_view s) {
      std::vector<Span> spans;
      for (size_t pos = s.find(literal); pos != std::string_view::npos;
           pos = s.find(literal, pos + literal.size())) {
        spans.push_back({pos, pos + literal.size()});
      }
      return spans;
    };
  }
  return std::unique_ptr<PreTokenizer>(
      new FnPreTokenizer(std::move(fn), behavior, invert.value_or(false)));
}

Result<std::unique_ptr<PreTokenizer>> ParseMetaspace(const boost::json::object& obj,
                                                      const std::string& what) {
  ASSIGN_OR_RETURN(auto replacement, json::GetString(obj, "replacement", what));
  ASSIGN_OR_RETURN(auto scheme, json::GetString(obj, "prepend_scheme", what));
  ASSIGN_OR_RETURN(auto add_prefix_space, json::GetBool(obj, "add_prefix_space", what));
  ASSIGN_OR_RETURN(auto split, json::GetBool(obj, "split", what));
  auto prepend = MetaspacePreTokenizer::Prepend::kAlways;
  if (scheme == "first") prepend = MetaspacePreTokenizer::Prepend::kFirst;
  else if (scheme == "never") prepend = MetaspacePreTokenizer::Prepend::kNever;
  else if (scheme && scheme != "always") {
    return InvalidArgument(fmt::format("{}: unknown prepend_scheme '{}'", what, *scheme));
  }
  if (add_prefix_space == false) prepend = MetaspacePreTokenizer::Prepend::kNever;
  const std::string rep = replacement.value_or("\xE2\x96\x81");
  if (rep.empty()) return InvalidArgument(what + ": 'replacement' is empty");
  return std::unique_ptr<PreTokenizer>(
      new MetaspacePreTokenizer(rep, prepend, split.value_or(true)));
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const boost::json::value& v) {
  if (v.is_null()) return std::unique_ptr<PreTokenizer>();
  const auto* obj = v.if_object();
  const auto* type_v = obj ? obj->if_contains("type") : nullptr;
  if (type_v == nullptr || !type_v->is_string()) {
    return InvalidArgument("tokenizer.json: a pre_tokenizer has no 'type'");
  }
  const std::string type(type_v->get_string());
  const std::string what = fmt::format("tokenizer.json: pre_tokenizer {}", type);
  using P = std::unique_ptr<PreTokenizer>;
  if (type == "Sequence") {
    const auto* list = obj->if_contains("pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return InvalidArgument(what + ": 'pretokenizers' must be an array");
    }
    std::vector<P> parts;
    for (const auto& item : list->get_array()) {
      ASSIGN_OR_RETURN(auto p, ParsePreTokenizer(item));
      if (p) parts.push_back(std::move(p));
    }
    return P(new SequencePreTokenizer(std::move(parts)));
  }
  if (type == "ByteLevel") {
    ASSIGN_OR_RETURN(auto prefix, json::GetBool(*obj, "add_prefix_space", what));
    ASSIGN_OR_RETURN(auto regex, json::GetBool(*obj, "use_regex", what));
    return P(new ByteLevelPreTokenizer(prefix.value_or(true), regex.value_or(true)));
  }
  if (type == "Split") return ParseSplit(*obj, what);
  if (type == "Metaspace") return ParseMetaspace(*obj, what);
  if (type == "Digits") {
    ASSIGN_OR_RETURN(auto individual, json::GetBool(*obj, "individual_digits", what));
    const bool runs = !individual.value_or(false);
    return P(new FnPreTokenizer(
        [runs](std::string_view s) { return CharSpans(s, unicode::IsNumber, runs); },
        Behavior::kIsolated, false));
  }
  if (type == "Punctuation") {
    ASSIGN_OR_RETURN(Behavior behavior, ParseBehavior(*obj, what));
    auto is_punct = [](char32_t c) {
      return (c < 0x80 && std::ispunct(static_cast<int>(c))) || unicode::IsPunctuation(c);
    };
    return P(new FnPreTokenizer(
        [is_punct](std::string_view s) { return CharSpans(s, is_punct, false); }, behavior,
        false));
  }
  if (type == "Whitespace") {  // \w+|[^\w\s]+ kept, whitespace dropped
    return P(new FnPreTokenizer(
        [](std::string_view s) {
          auto word = CharSpans(s, unicode::IsWordChar, true);
          auto other = CharSpans(
              s, [](char32_t c) { return !unicode::IsWordChar(c) && !unicode::IsWhitespace(c); },
              true);
          word.insert(word.end(), other.begin(), other.end());
          std::sort(word.begin(), word.end());
          return word;
        },
        Behavior::kRemoved, true));
  }
  if (type == "WhitespaceSplit") {
    return P(new FnPreTokenizer(
        [](std::string_view s) { return CharSpans(s, unicode::IsWhitespace, true); },
        Behavior::kRemoved, false));
  }
  return Unimplemented(fmt::format("tokenizer.json: pre_tokenizer type '{}' is not supported", type));
}

}  // namespace inferline::engine
