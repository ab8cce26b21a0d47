// The Jinja renderer's internals, shared by jinja_eval.cc (statements and operators) and
// jinja_builtins.cc (calls, methods, filters, tests). Not part of the public interface.
//
// Thread-safety: a Renderer renders one template once, on one thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/jinja_ast.h"

namespace inferline::engine::jinja {

inline constexpr size_t kMaxOutputBytes = size_t{16} << 20;
inline constexpr int64_t kMaxIterations = 1'000'000;
inline constexpr int64_t kMaxRange = 100'000;

Status Error(std::string_view what);
Result<int64_t> Length(const Value& v);
// Python-style iteration: lists, dict keys, string characters (bytes), undefined as empty.
Result<List> Iterate(const Value& v);

class Renderer {
 public:
  explicit Renderer(const std::map<std::string, Value>& globals) { scopes_.emplace_back(globals); }

  Status Exec(const std::vector<Node>& nodes);
  const std::string& out() const { return out_; }

 private:
  Result<Value> Eval(const Expr& e);
  Result<Value> EvalBinary(const Expr& e);
  Result<Value> EvalCall(const Expr& e);
  Result<Value> CallMethod(const Value& obj, const std::string& name, const List& args);
  Result<Value> ApplyFilter(const Expr& e);
  Result<bool> ApplyTest(const Expr& e);
  Result<Value> Index(const Value& obj, const Value& key);
  Result<Value> Slice(const Value& obj, const Expr& e);
  Result<List> EvalArgs(const Expr& e, size_t first);
  Status ExecFor(const Node& n);
  Status Emit(std::string_view s) {
    if (out_.size() + s.size() > kMaxOutputBytes) return Error("output too large");
    out_.append(s);
    return Status::Ok();
  }

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    return Value{};
  }

  std::vector<std::map<std::string, Value>> scopes_;
  std::string out_;
  int64_t iterations_ = 0;
};

}  // namespace inferline::engine::jinja
