// A small Jinja interpreter for chat templates.
//
// Covers what Hugging Face chat templates use: {{ expr }}, {% for %} (with else, loop filters,
// two-name unpacking and loop.index/index0/first/last/length/revindex), {% if/elif/else %},
// {% set %} (including namespace attributes), {# comments #}, whitespace control ({%- -%}) and
// HF's trim_blocks + lstrip_blocks; literals, lists and dicts; + - * / // % ~, comparisons,
// and/or/not, in / not in, is [not] tests; attribute, index and slice access; conditional
// expressions; filters (trim capitalize upper lower title length count default join first last
// list string int float tojson replace reverse items abs); string and dict methods; and the
// functions raise_exception, namespace, range and strftime_now. Anything else is an error at
// parse time naming the construct. Rendering is bounded (output size, loop length, nesting).
//
// Thread-safety: a parsed Template is immutable; Render may run concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace inferline::engine::jinja {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python dicts

struct Value {
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict };
  Kind kind = Kind::kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<List> list;  // shared: Jinja lists and dicts (and namespaces) are references
  std::shared_ptr<Dict> dict;

  static Value None() { return Value{Kind::kNone}; }
  static Value Bool(bool v) { Value x{Kind::kBool}; x.b = v; return x; }
  static Value Int(int64_t v) { Value x{Kind::kInt}; x.i = v; return x; }
  static Value Float(double v) { Value x{Kind::kFloat}; x.f = v; return x; }
  static Value Str(std::string v) { Value x{Kind::kString}; x.s = std::move(v); return x; }
  static Value MakeList(List v = {}) {
    Value x{Kind::kList};
    x.list = std::make_shared<List>(std::move(v));
    return x;
  }
  static Value MakeDict(Dict v = {}) {
    Value x{Kind::kDict};
    x.dict = std::make_shared<Dict>(std::move(v));
    return x;
  }

  bool IsUndefined() const { return kind == Kind::kUndefined; }
  bool IsNumber() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  double AsDouble() const { return kind == Kind::kFloat ? f : static_cast<double>(kind == Kind::kBool ? b : i); }
  bool Truthy() const;
  // Dict lookup; nullptr when absent or not a dict.
  const Value* Get(std::string_view key) const;
  void Set(std::string key, Value v);  // dicts only
};

// Python str(): what {{ }} prints (undefined prints nothing).
std::string ToString(const Value& v);
// Python repr() (strings quoted), for printing inside lists and dicts.
std::string Repr(const Value& v);
std::string ToJson(const Value& v, int indent = -1, int depth = 0);
bool Equal(const Value& a, const Value& b);
std::string_view KindName(Value::Kind k);

struct Node;

class Template {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Template>> Parse(std::string_view source);
  ~Template();
  [[nodiscard]] Result<std::string> Render(const std::map<std::string, Value>& globals) const;

 private:
  Template();
  std::unique_ptr<std::vector<Node>> body_;
};

}  // namespace inferline::engine::jinja
