// Jinja built-ins: function calls, string/dict methods, filters and tests.
#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "engine/tokenizer/jinja_renderer.h"

namespace inferline::engine::jinja {
namespace {

std::string Strip(std::string_view s, std::string_view chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) while (b < e && chars.find(s[b]) != std::string_view::npos) ++b;
  if (right) while (e > b && chars.find(s[e - 1]) != std::string_view::npos) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string Capitalize(std::string s) {
  s = Lower(std::move(s));
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}
std::string Title(std::string s) {
  bool start = true;
  for (char& c : s) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c));
    c = static_cast<char>(start ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    start = !alpha;
  }
  return s;
}
std::string Replace(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos).append(to);
  }
  return out.append(s, pos);
}

Value Items(const Value& dict) {
  List items;
  if (dict.kind == Value::Kind::kDict) {
    for (const auto& [k, v] : *dict.dict) items.push_back(Value::MakeList({Value::Str(k), v}));
  }
  return Value::MakeList(std::move(items));
}

constexpr std::string_view kSpaces = " \t\n\r\v\f";

Result<std::string> StringArg(const List& args, size_t i, std::string_view fn,
                              std::string dflt = {}) {
  if (i >= args.size()) return dflt;
  if (args[i].kind != Value::Kind::kString) {
    return Error(fmt::format("{}: argument {} must be a string", fn, i + 1));
  }
  return args[i].s;
}

Result<std::string> StrftimeNow(const List& args) {
  ASSIGN_OR_RETURN(std::string format, StringArg(args, 0, "strftime_now"));
  if (format.size() > 256) return Error("strftime_now: format too long");
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[1024];
  const size_t n = std::strftime(buf, sizeof(buf), format.c_str(), &tm);
  return std::string(buf, n);
}

}  // namespace

Result<Value> Renderer::EvalCall(const Expr& e) {
  const Expr& callee = *e.args[0];
  ASSIGN_OR_RETURN(List args, EvalArgs(e, 1));
  if (callee.kind == Expr::Kind::kAttr) {
    ASSIGN_OR_RETURN(Value obj, Eval(*callee.args[0]));
    return CallMethod(obj, callee.name, args);
  }
  if (callee.kind != Expr::Kind::kName) return Error("only named functions can be called");
  const std::string& fn = callee.name;
  if (fn == "raise_exception") {
    return InvalidArgument(args.empty() ? std::string("chat template raised an exception")
                                        : ToString(args[0]));
  }
  if (fn == "namespace" || fn == "dict") {
    Value ns = Value::MakeDict();
    for (const auto& [k, ve] : e.kwargs) {
      ASSIGN_OR_RETURN(Value v, Eval(*ve));
      ns.Set(k, std::move(v));
    }
    return ns;
  }
  if (fn == "range") {
    int64_t lo = 0, hi = 0, step = 1;
    for (const auto& a : args) {
      if (a.kind != Value::Kind::kInt) return Error("range: arguments must be integers");
    }
    if (args.size() == 1) hi = args[0].i;
    else if (args.size() >= 2) lo = args[0].i, hi = args[1].i;
    if (args.size() == 3) step = args[2].i;
    if (args.empty() || args.size() > 3 || step == 0) return Error("range: bad arguments");
    List items;
    for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) {
      if (static_cast<int64_t>(items.size()) >= kMaxRange) return Error("range too long");
      items.push_back(Value::Int(i));
    }
    return Value::MakeList(std::move(items));
  }
  if (fn == "strftime_now") {
    ASSIGN_OR_RETURN(std::string s, StrftimeNow(args));
    return Value::Str(std::move(s));
  }
  return Error(fmt::format("unknown function '{}'", fn));
}

Result<Value> Renderer::CallMethod(const Value& obj, const std::string& name, const List& args) {
  if (obj.kind == Value::Kind::kString) {
    const std::string& s = obj.s;
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      ASSIGN_OR_RETURN(std::string chars, StringArg(args, 0, name, std::string(kSpaces)));
      return Value::Str(Strip(s, chars, name != "rstrip", name != "lstrip"));
    }
    if (name == "upper") return Value::Str(Upper(s));
    if (name == "lower") return Value::Str(Lower(s));
    if (name == "title") return Value::Str(Title(s));
    if (name == "capitalize") return Value::Str(Capitalize(s));
    if (name == "startswith" || name == "endswith") {
      ASSIGN_OR_RETURN(std::string x, StringArg(args, 0, name));
      const bool r = name == "startswith" ? s.compare(0, x.size(), x) == 0
                                          : s.size() >= x.size() &&
                                                s.compare(s.size() - x.size(), x.size(), x) == 0;
      return Value::Bool(r);
    }
    if (name == "replace") {
      ASSIGN_OR_RETURN(std::string from, StringArg(args, 0, name));
      ASSIGN_OR_RETURN(std::string to, StringArg(args, 1, name));
      return Value::Str(Replace(s, from, to));
    }
    if (name == "split") {
      ASSIGN_OR_RETURN(std::string sep, StringArg(args, 0, name));
      List parts;
      if (sep.empty()) {  // Python: split on runs of whitespace
        size_t i = 0;
        while (i < s.size()) {
          i = s.find_first_not_of(kSpaces, i);
          if (i == std::string::npos) break;
          const size_t j = std::min(s.find_first_of(kSpaces, i), s.size());
          parts.push_back(Value::Str(s.substr(i, j - i)));
          i = j;
        }
      } else {
        size_t pos = 0;
        for (size_t hit; (hit = s.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
          parts.push_back(Value::Str(s.substr(pos, hit - pos)));
        }
        parts.push_back(Value::Str(s.substr(pos)));
      }
      return Value::MakeList(std::move(parts));
    }
  }
  if (obj.kind == Value::Kind::kDict) {
    if (name == "items") return Items(obj);
    if (name == "keys" || name == "values") {
      List out;
      for (const auto& [k, v] : *obj.dict) out.push_back(name == "keys" ? Value::Str(k) : v);
      return Value::MakeList(std::move(out));
    }
    if (name == "get") {
      if (args.empty() || args[0].kind != Value::Kind::kString) return Error("get: needs a key");
      const Value* v = obj.Get(args[0].s);
      return v ? *v : (args.size() > 1 ? args[1] : Value::None());
    }
  }
  return Error(fmt::format("unknown method '{}' on a {}", name, KindName(obj.kind)));
}

Result<Value> Renderer::ApplyFilter(const Expr& e) {
  ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
  ASSIGN_OR_RETURN(List args, EvalArgs(e, 1));
  const std::string& f = e.name;
  auto need_string = [&]() -> Status {
    if (v.kind == Value::Kind::kString) return Status::Ok();
    if (v.IsUndefined()) {
      v = Value::Str("");
      return Status::Ok();
    }
    return Error(fmt::format("filter '{}' needs a string, got a {}", f, KindName(v.kind)));
  };
  if (f == "trim") {
    RETURN_IF_ERROR(need_string());
    return Value::Str(Strip(v.s, kSpaces, true, true));
  }
  if (f == "capitalize" || f == "upper" || f == "lower" || f == "title") {
    RETURN_IF_ERROR(need_string());
    return Value::Str(f == "capitalize" ? Capitalize(v.s)
                      : f == "upper"    ? Upper(v.s)
                      : f == "lower"    ? Lower(v.s)
                                        : Title(v.s));
  }
  if (f == "length" || f == "count") {
    ASSIGN_OR_RETURN(int64_t n, Length(v));
    return Value::Int(n);
  }
  if (f == "default" || f == "d") {
    const bool boolean = args.size() > 1 && args[1].Truthy();
    if (v.IsUndefined() || (boolean && !v.Truthy())) return args.empty() ? Value::Str("") : args[0];
    return v;
  }
  if (f == "string") return Value::Str(ToString(v));
  if (f == "int") {
    if (v.IsNumber()) return Value::Int(static_cast<int64_t>(v.AsDouble()));
    if (v.kind == Value::Kind::kString) return Value::Int(std::atoll(v.s.c_str()));
    return Value::Int(0);
  }
  if (f == "float") {
    if (v.IsNumber()) return Value::Float(v.AsDouble());
    if (v.kind == Value::Kind::kString) return Value::Float(std::atof(v.s.c_str()));
    return Value::Float(0);
  }
  if (f == "abs") {
    if (v.kind == Value::Kind::kInt) return Value::Int(v.i < 0 ? -v.i : v.i);
    if (v.IsNumber()) return Value::Float(std::fabs(v.AsDouble()));
    return Error("abs of a non-number");
  }
  if (f == "tojson") {
    int indent = -1;
    for (const auto& [k, ve] : e.kwargs) {
      if (k != "indent") continue;
      ASSIGN_OR_RETURN(Value iv, Eval(*ve));
      if (iv.kind == Value::Kind::kInt && iv.i >= 0 && iv.i <= 16) indent = static_cast<int>(iv.i);
    }
    return Value::Str(ToJson(v, indent));
  }
  if (f == "replace") {
    RETURN_IF_ERROR(need_string());
    ASSIGN_OR_RETURN(std::string from, StringArg(args, 0, f));
    ASSIGN_OR_RETURN(std::string to, StringArg(args, 1, f));
    return Value::Str(Replace(v.s, from, to));
  }
  if (f == "items") return Items(v);
  ASSIGN_OR_RETURN(List items, Iterate(v));
  if (f == "list") return Value::MakeList(std::move(items));
  if (f == "first") return items.empty() ? Value{} : items.front();
  if (f == "last") return items.empty() ? Value{} : items.back();
  if (f == "reverse") {
    if (v.kind == Value::Kind::kString) return Value::Str(std::string(v.s.rbegin(), v.s.rend()));
    std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (f == "join") {
    ASSIGN_OR_RETURN(std::string sep, StringArg(args, 0, f));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += sep;
      out += ToString(items[i]);
      if (out.size() > kMaxOutputBytes) return Error("output too large");
    }
    return Value::Str(std::move(out));
  }
  return Error(fmt::format("unknown filter '{}'", f));
}

Result<bool> Renderer::ApplyTest(const Expr& e) {
  ASSIGN_OR_RETURN(Value v, Eval(*e.args[0]));
  ASSIGN_OR_RETURN(List args, EvalArgs(e, 1));
  const std::string& t = e.name;
  using K = Value::Kind;
  if (t == "defined") return !v.IsUndefined();
  if (t == "undefined") return v.IsUndefined();
  if (t == "none") return v.kind == K::kNone;
  if (t == "string") return v.kind == K::kString;
  if (t == "number") return v.kind == K::kInt || v.kind == K::kFloat;
  if (t == "integer") return v.kind == K::kInt;
  if (t == "float") return v.kind == K::kFloat;
  if (t == "boolean") return v.kind == K::kBool;
  if (t == "true") return v.kind == K::kBool && v.b;
  if (t == "false") return v.kind == K::kBool && !v.b;
  if (t == "mapping") return v.kind == K::kDict;
  if (t == "sequence" || t == "iterable") {
    return v.kind == K::kList || v.kind == K::kString || v.kind == K::kDict;
  }
  if (t == "even" || t == "odd") {
    if (v.kind != K::kInt) return Error(fmt::format("test '{}' needs an integer", t));
    return (v.i % 2 == 0) == (t == "even");
  }
  if (t == "equalto" || t == "eq" || t == "sameas") {
    if (args.empty()) return Error(fmt::format("test '{}' needs an argument", t));
    return Equal(v, args[0]);
  }
  return Error(fmt::format("unknown test '{}'", t));
}

}  // namespace inferline::engine::jinja
