#include "engine/tokenizer/decoder.h"

#include <fmt/format.h>

#include "engine/io/json_util.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/unicode.h"

namespace inferline::engine {
namespace {

using Tokens = std::vector<std::string>;

class ByteLevelDecoder final : public Decoder {
 public:
  // HF maps every token whose characters are all in the byte table, and copies other tokens
  // (added tokens with spaces, say) as their own UTF-8.
  void Apply(Tokens* tokens, bool) const override {
    std::string bytes;
    for (const auto& t : *tokens) {
      if (!ByteLevelDecode(t, &bytes)) bytes.append(t);
    }
    tokens->assign(1, std::move(bytes));
  }
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::string from, std::string to) : from_(std::move(from)), to_(std::move(to)) {}
  void Apply(Tokens* tokens, bool) const override {
    for (auto& t : *tokens) ReplaceAll(&t, from_, to_);
  }

 private:
  std::string from_, to_;
};

class ByteFallbackDecoder final : public Decoder {
 public:
  // Runs of <0xNN> tokens become their bytes. HF turns an ill-formed run into one U+FFFD per
  // byte; when streaming, the bytes are kept so a character split across steps survives.
  void Apply(Tokens* tokens, bool streaming) const override {
    Tokens out;
    std::string run;
    size_t run_tokens = 0;
    auto flush = [&] {
      if (run_tokens == 0) return;
      if (streaming || unicode::ToValidUtf8(run) == run) {
        out.push_back(std::move(run));
      } else {
        for (size_t i = 0; i < run_tokens; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_tokens = 0;
    };
    for (auto& t : *tokens) {
      int byte = ParseByteToken(t);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        ++run_tokens;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    *tokens = std::move(out);
  }

 private:
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  static int ParseByteToken(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    const int hi = Hex(t[3]), lo = Hex(t[4]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder final : public Decoder {
 public:
  void Apply(Tokens* tokens, bool) const override {
    std::string all;
    for (const auto& t : *tokens) all += t;
    tokens->assign(1, std::move(all));
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void Apply(Tokens* tokens, bool) const override {
    for (auto& t : *tokens) {
      size_t b = 0, e = t.size();
      for (size_t i = 0; i < start_ && t.compare(b, content_.size(), content_) == 0 &&
                         b + content_.size() <= e;
           ++i) {
        b += content_.size();
      }
      for (size_t i = 0; i < stop_ && e >= b + content_.size() &&
                         t.compare(e - content_.size(), content_.size(), content_) == 0;
           ++i) {
        e -= content_.size();
      }
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  // As HF: the replacement becomes a space, except in the first token, where it is removed.
  void Apply(Tokens* tokens, bool) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      ReplaceAll(&(*tokens)[i], replacement_, (i == 0 && strip_first_) ? "" : " ");
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class SuffixDecoder final : public Decoder {  // HF "BPEDecoder"
 public:
  explicit SuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void Apply(Tokens* tokens, bool) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      ReplaceAll(&(*tokens)[i], suffix_, i + 1 == tokens->size() ? "" : " ");
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void Apply(Tokens* tokens, bool streaming) const override {
    for (const auto& p : parts_) p->Apply(tokens, streaming);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

Result<std::unique_ptr<Decoder>> ParseDecoder(const boost::json::value& v) {
  using D = std::unique_ptr<Decoder>;
  if (v.is_null()) return D();
  const auto* obj = v.if_object();
  const auto* type_v = obj ? obj->if_contains("type") : nullptr;
  if (type_v == nullptr || !type_v->is_string()) {
    return InvalidArgument("tokenizer.json: a decoder has no 'type'");
  }
  const std::string type(type_v->get_string());
  const std::string what = fmt::format("tokenizer.json: decoder {}", type);
  if (type == "Sequence") {
    const auto* list = obj->if_contains("decoders");
    if (list == nullptr || !list->is_array()) {
      return InvalidArgument(what + ": 'decoders' must be an array");
    }
    std::vector<D> parts;
    for (const auto& item : list->get_array()) {
      ASSIGN_OR_RETURN(auto d, ParseDecoder(item));
      if (d) parts.push_back(std::move(d));
    }
    return D(new SequenceDecoder(std::move(parts)));
  }
  if (type == "ByteLevel") return D(new ByteLevelDecoder());
  if (type == "ByteFallback") return D(new ByteFallbackDecoder());
  if (type == "Fuse") return D(new FuseDecoder());
  if (type == "Replace") {
    const auto* pattern = obj->if_contains("pattern");
    if (pattern == nullptr) return InvalidArgument(what + ": 'pattern' is missing");
    ASSIGN_OR_RETURN(std::string from, StringPattern(*pattern, "decoder Replace"));
    ASSIGN_OR_RETURN(auto to, json::GetString(*obj, "content", what));
    return D(new ReplaceDecoder(from, to.value_or("")));
  }
  if (type == "Strip") {
    ASSIGN_OR_RETURN(auto content, json::GetString(*obj, "content", what));
    ASSIGN_OR_RETURN(auto start, json::GetInt(*obj, "start", what));
    ASSIGN_OR_RETURN(auto stop, json::GetInt(*obj, "stop", what));
    if (!content || content->empty() || start.value_or(0) < 0 || stop.value_or(0) < 0) {
      return InvalidArgument(what + ": needs a non-empty 'content' and non-negative start/stop");
    }
    return D(new StripDecoder(*content, static_cast<size_t>(std::min<int64_t>(start.value_or(0), 1 << 20)),
                              static_cast<size_t>(std::min<int64_t>(stop.value_or(0), 1 << 20))));
  }
  if (type == "Metaspace") {
    ASSIGN_OR_RETURN(auto replacement, json::GetString(*obj, "replacement", what));
    ASSIGN_OR_RETURN(auto scheme, json::GetString(*obj, "prepend_scheme", what));
    ASSIGN_OR_RETURN(auto add_prefix_space, json::GetBool(*obj, "add_prefix_space", what));
    const bool strip = scheme.value_or("always") != "never" && add_prefix_space.value_or(true);
    const std::string rep = replacement.value_or("\xE2\x96\x81");
    if (rep.empty()) return InvalidArgument(what + ": 'replacement' is empty");
    return D(new MetaspaceDecoder(rep, strip));
  }
  if (type == "BPEDecoder") {
    ASSIGN_OR_RETURN(auto suffix, json::GetString(*obj, "suffix", what));
    if (suffix.value_or("").empty()) return InvalidArgument(what + ": 'suffix' is empty");
    return D(new SuffixDecoder(*suffix));
  }
  return Unimplemented(fmt::format("tokenizer.json: decoder type '{}' is not supported", type));
}

}  // namespace inferline::engine
