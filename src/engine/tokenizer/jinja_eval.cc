// Jinja evaluation: expressions, statements, filters, tests and the built-in functions.
#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "engine/tokenizer/jinja_renderer.h"

namespace inferline::engine::jinja {

Status Error(std::string_view what) {
  return InvalidArgument(fmt::format("chat template: {}", what));
}

Result<int64_t> Length(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kString: return static_cast<int64_t>(v.s.size());
    case Value::Kind::kList: return static_cast<int64_t>(v.list->size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.dict->size());
    case Value::Kind::kUndefined: return int64_t{0};
    default: return Error(fmt::format("length of a {}", KindName(v.kind)));
  }
}

// Python-style iteration: lists, dict keys, string characters (bytes), undefined as empty.
Result<List> Iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kList: return *v.list;
    case Value::Kind::kDict: {
      List keys;
      for (const auto& kv : *v.dict) keys.push_back(Value::Str(kv.first));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (char c : v.s) chars.push_back(Value::Str(std::string(1, c)));
      return chars;
    }
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return List{};
    default: return Error(fmt::format("cannot iterate over a {}", KindName(v.kind)));
  }
}

Status Renderer::Exec(const std::vector<Node>& nodes) {
  for (const Node& n : nodes) {
    switch (n.kind) {
      case Node::Kind::kText: RETURN_IF_ERROR(Emit(n.text)); break;
      case Node::Kind::kOutput: {
        ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
        RETURN_IF_ERROR(Emit(ToString(v)));
        break;
      }
      case Node::Kind::kIf:
        for (const auto& [cond, body] : n.branches) {
          bool take = true;
          if (cond) {
            ASSIGN_OR_RETURN(Value c, Eval(*cond));
            take = c.Truthy();
          }
          if (take) {
            RETURN_IF_ERROR(Exec(body));
            break;
          }
        }
        break;
      case Node::Kind::kFor: RETURN_IF_ERROR(ExecFor(n)); break;
      case Node::Kind::kSet: {
        ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
        if (n.targets.size() == 1) {
          scopes_.back()[n.targets[0]] = std::move(v);
        } else {
          Value ns = Lookup(n.targets[0]);
          if (ns.kind != Value::Kind::kDict) {
            return Error(fmt::format("'{}' is not a namespace", n.targets[0]));
          }
          ns.Set(n.targets[1], std::move(v));  // shared: updates the namespace in place
        }
        break;
      }
    }
  }
  return Status::Ok();
}

Status Renderer::ExecFor(const Node& n) {
  ASSIGN_OR_RETURN(Value iterable, Eval(*n.expr));
  ASSIGN_OR_RETURN(List all, Iterate(iterable));
  List items;
  for (auto& item : all) {
    if (n.loop_filter) {
      scopes_.emplace_back();
      scopes_.back()[n.targets[0]] = item;
      auto keep = Eval(*n.loop_filter);
      scopes_.pop_back();
      if (!keep.ok()) return keep.status();
      if (!keep->Truthy()) continue;
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) return Exec(n.else_body);
  const auto len = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < len; ++i) {
    if (++iterations_ > kMaxIterations) return Error("too many loop iterations");
    std::map<std::string, Value> scope;
    const Value& item = items[i];
    if (n.targets.size() == 2) {
      if (item.kind != Value::Kind::kList || item.list->size() != 2) {
        return Error("cannot unpack a loop item into two names");
      }
      scope[n.targets[0]] = (*item.list)[0];
      scope[n.targets[1]] = (*item.list)[1];
    } else {
      scope[n.targets[0]] = item;
    }
    Value loop = Value::MakeDict();
    loop.Set("index", Value::Int(i + 1));
    loop.Set("index0", Value::Int(i));
    loop.Set("revindex", Value::Int(len - i));
    loop.Set("revindex0", Value::Int(len - i - 1));
    loop.Set("first", Value::Bool(i == 0));
    loop.Set("last", Value::Bool(i == len - 1));
    loop.Set("length", Value::Int(len));
    loop.Set("previtem", i > 0 ? items[i - 1] : Value{});
    loop.Set("nextitem", i + 1 < len ? items[i + 1] : Value{});
    scope["loop"] = std::move(loop);
    scopes_.push_back(std::move(scope));
    Status st = Exec(n.body);
    scopes_.pop_back();
    RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

Result<List> Renderer::EvalArgs(const Expr& e, size_t first) {
  List args;
  for (size_t i = first; i < e.args.size(); ++i) {
    ASSIGN_OR_RETURN(Value v, Eval(*e.args[i]));
    args.push_back(std::move(v));
  }
  return args;
}

Result<Value> Renderer::Eval(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: return e.literal;
    case Expr::Kind::kName: return Lookup(e.name);
    case Expr::Kind::kAttr: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      if (const Value* v = obj.Get(e.name)) return *v;
      if (obj.kind == Value::Kind::kList) return Index(obj, Value::Int(std::atoll(e.name.c_str())));
      return Value{};
    }
    case Expr::Kind::kIndex: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      ASSIGN_OR_RETURN(Value key, Eval(*e.args[1]));
      return Index(obj, key);
    }
    case Expr::Kind::kSlice: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0]));
      return Slice(obj, e);
    }
    case Expr::Kind::kCall: return EvalCall(e);
    case Expr::Kind::kFilter: return ApplyFilter(e);
    case Expr::Kind::kTest: {
      ASSIGN_OR_RETURN(bool r, ApplyTest(e));
      return Value::Bool(r != e.negate);
    }
    case Expr::Kind::kUnary: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
      if (e.name == "not") return Value::Bool(!v.Truthy());
      if (v.kind == Value::Kind::kInt) return Value::Int(-v.i);
      if (v.kind == Value::Kind::kFloat) return Value::Float(-v.f);
      return Error("unary '-' on a non-number");
    }
    case Expr::Kind::kBinary: return EvalBinary(e);
    case Expr::Kind::kCond: {
      ASSIGN_OR_RETURN(Value c, Eval(*e.args[1]));
      if (c.Truthy()) return Eval(*e.args[0]);
      if (e.args[2]) return Eval(*e.args[2]);
      return Value{};
    }
    case Expr::Kind::kList: {
      ASSIGN_OR_RETURN(List items, EvalArgs(e, 0));
      return Value::MakeList(std::move(items));
    }
    case Expr::Kind::kDict: {
      Value d = Value::MakeDict();
      for (const auto& [k, ve] : e.kwargs) {
        ASSIGN_OR_RETURN(Value v, Eval(*ve));
        d.Set(k, std::move(v));
      }
      return d;
    }
  }
  return Error("bad expression");
}

Result<Value> Renderer::Index(const Value& obj, const Value& key) {
  if (obj.kind == Value::Kind::kDict) {
    if (key.kind != Value::Kind::kString) return Value{};
    const Value* v = obj.Get(key.s);
    return v ? *v : Value{};
  }
  if ((obj.kind == Value::Kind::kList || obj.kind == Value::Kind::kString) &&
      key.kind == Value::Kind::kInt) {
    const auto n = static_cast<int64_t>(obj.kind == Value::Kind::kList ? obj.list->size()
                                                                        : obj.s.size());
    const int64_t i = key.i < 0 ? key.i + n : key.i;
    if (i < 0 || i >= n) return Value{};
    if (obj.kind == Value::Kind::kList) return (*obj.list)[i];
    return Value::Str(std::string(1, obj.s[i]));
  }
  if (obj.IsUndefined()) return Error("indexing an undefined value");
  return Value{};
}

Result<Value> Renderer::Slice(const Value& obj, const Expr& e) {
  int64_t bound[3] = {0, 0, 1};
  bool given[3] = {false, false, false};
  for (int k = 0; k < 3; ++k) {
    if (!e.args[k + 1]) continue;
    ASSIGN_OR_RETURN(Value v, Eval(*e.args[k + 1]));
    if (v.kind == Value::Kind::kNone) continue;
    if (v.kind != Value::Kind::kInt) return Error("slice bounds must be integers");
    bound[k] = v.i;
    given[k] = true;
  }
  const int64_t step = bound[2];
  if (step == 0) return Error("slice step cannot be zero");
  ASSIGN_OR_RETURN(int64_t n, Length(obj));
  auto clamp = [&](int64_t v, bool is_given, int64_t dflt) {
    if (!is_given) return dflt;
    if (v < 0) v += n;
    return step > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
  };
  const int64_t start = clamp(bound[0], given[0], step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(bound[1], given[1], step > 0 ? n : -1);
  List items;
  std::string chars;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (obj.kind == Value::Kind::kList) items.push_back((*obj.list)[i]);
    else if (obj.kind == Value::Kind::kString) chars += obj.s[i];
  }
  if (obj.kind == Value::Kind::kString) return Value::Str(std::move(chars));
  return Value::MakeList(std::move(items));
}

Result<Value> Renderer::EvalBinary(const Expr& e) {
  const std::string& op = e.name;
  ASSIGN_OR_RETURN(Value a, Eval(*e.args[0]));
  if (op == "and") return a.Truthy() ? Eval(*e.args[1]) : a;
  if (op == "or") return a.Truthy() ? a : Eval(*e.args[1]);
  ASSIGN_OR_RETURN(Value b, Eval(*e.args[1]));
  if (op == "~") return Value::Str(ToString(a) + ToString(b));
  if (op == "==") return Value::Bool(Equal(a, b));
  if (op == "!=") return Value::Bool(!Equal(a, b));
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.kind == Value::Kind::kString && a.kind == Value::Kind::kString) {
      found = b.s.find(a.s) != std::string::npos;
    } else if (b.kind == Value::Kind::kList) {
      found = std::any_of(b.list->begin(), b.list->end(), [&](const Value& x) { return Equal(a, x); });
    } else if (b.kind == Value::Kind::kDict && a.kind == Value::Kind::kString) {
      found = b.Get(a.s) != nullptr;
    } else if (!b.IsUndefined() && b.kind != Value::Kind::kNone) {
      return Error(fmt::format("'in' on a {}", KindName(b.kind)));
    }
    return Value::Bool(found == (op == "in"));
  }
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    int cmp;
    if (a.IsNumber() && b.IsNumber()) {
      cmp = a.AsDouble() < b.AsDouble() ? -1 : a.AsDouble() > b.AsDouble() ? 1 : 0;
    } else if (a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
      cmp = a.s.compare(b.s);
    } else {
      return Error(fmt::format("cannot compare {} and {}", KindName(a.kind), KindName(b.kind)));
    }
    return Value::Bool(op == "<" ? cmp < 0 : op == ">" ? cmp > 0 : op == "<=" ? cmp <= 0 : cmp >= 0);
  }
  if (op == "+" && a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
    return Value::Str(a.s + b.s);
  }
  if (op == "+" && a.kind == Value::Kind::kList && b.kind == Value::Kind::kList) {
    List items = *a.list;
    items.insert(items.end(), b.list->begin(), b.list->end());
    return Value::MakeList(std::move(items));
  }
  if (op == "*" && a.kind == Value::Kind::kString && b.kind == Value::Kind::kInt) {
    if (b.i < 0 || a.s.size() * static_cast<uint64_t>(b.i) > kMaxOutputBytes) {
      return Error("string repetition out of range");
    }
    std::string s;
    for (int64_t i = 0; i < b.i; ++i) s += a.s;
    return Value::Str(std::move(s));
  }
  if (!a.IsNumber() || !b.IsNumber()) {
    return Error(fmt::format("'{}' on {} and {}", op, KindName(a.kind), KindName(b.kind)));
  }
  const bool ints = a.kind != Value::Kind::kFloat && b.kind != Value::Kind::kFloat;
  const double x = a.AsDouble(), y = b.AsDouble();
  const int64_t ia = static_cast<int64_t>(x), ib = static_cast<int64_t>(y);
  if (op == "/") {
    if (y == 0) return Error("division by zero");
    return Value::Float(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) return Error("division by zero");
    if (ints) {
      if (ib == -1 && ia == INT64_MIN) return Error("integer overflow");
      int64_t q = ia / ib, r = ia % ib;
      if (r != 0 && ((r < 0) != (ib < 0))) {  // Python floors
        --q;
        r += ib;
      }
      return Value::Int(op == "//" ? q : r);
    }
    const double q = std::floor(x / y);
    return Value::Float(op == "//" ? q : x - q * y);
  }
  if (ints && std::fabs(x) < 9e15 && std::fabs(y) < 9e15) {
    if (op == "+") return Value::Int(ia + ib);
    if (op == "-") return Value::Int(ia - ib);
    if (op == "*" && std::fabs(x * y) < 9e15) return Value::Int(ia * ib);
  }
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  return Error(fmt::format("unsupported operator '{}'", op));
}

Template::~Template() = default;
Template::Template() : body_(std::make_unique<std::vector<Node>>()) {}

Result<std::string> Template::Render(const std::map<std::string, Value>& globals) const {
  Renderer r(globals);
  RETURN_IF_ERROR(r.Exec(*body_));
  return r.out();
}

}  // namespace inferline::engine::jinja
