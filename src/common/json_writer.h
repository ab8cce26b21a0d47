// Appends JSON text to a string directly, for the hot paths whose shape is fixed (the queue
// message and the record of every admission, the 202 answer, every log line): no value tree,
// no allocation beyond the output's own. Strings are escaped as JSON requires (quote, backslash, control
// characters; other bytes, UTF-8 included, pass through as they came); numbers take their
// shortest form that reads back exactly.
//
// Thread-safety: a writer belongs to its caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace inferline {

void AppendJsonString(std::string& out, std::string_view s);
void AppendJsonInt(std::string& out, int64_t v);
void AppendJsonUint(std::string& out, uint64_t v);
void AppendJsonDouble(std::string& out, double v);  // v must be finite

// [a,b,...]: `append_one(out, item)` writes each item of `items`.
template <class Range, class Fn>
void AppendJsonArray(std::string& out, const Range& items, Fn&& append_one) {
  out += '[';
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += ',';
    first = false;
    append_one(out, item);
  }
  out += ']';
}

// {"key":value,...}: each call adds one member; keys are literals that need no escaping.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  JsonObjectWriter& Str(std::string_view key, std::string_view v) {
    AppendJsonString(Key(key), v);
    return *this;
  }
  JsonObjectWriter& Int(std::string_view key, int64_t v) {
    AppendJsonInt(Key(key), v);
    return *this;
  }
  JsonObjectWriter& Uint(std::string_view key, uint64_t v) {
    AppendJsonUint(Key(key), v);
    return *this;
  }
  JsonObjectWriter& Double(std::string_view key, double v) {
    AppendJsonDouble(Key(key), v);
    return *this;
  }
  JsonObjectWriter& Bool(std::string_view key, bool v) {
    Key(key) += v ? "true" : "false";
    return *this;
  }
  // Writes `"key":` and returns the output, for a value the caller writes itself.
  std::string& Key(std::string_view key) {
    out_ += first_ ? "\"" : ",\"";
    first_ = false;
    out_ += key;
    out_ += "\":";
    return out_;
  }
  void End() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace inferline
