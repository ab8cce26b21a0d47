#include <cmath>

#include <fmt/format.h>

#include "engine/tokenizer/jinja.h"

namespace inferline::engine::jinja {

bool Value::Truthy() const {
  switch (kind) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b;
    case Kind::kInt: return i != 0;
    case Kind::kFloat: return f != 0;
    case Kind::kString: return !s.empty();
    case Kind::kList: return !list->empty();
    case Kind::kDict: return !dict->empty();
  }
  return false;
}

const Value* Value::Get(std::string_view key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : *dict) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Value::Set(std::string key, Value v) {
  for (auto& [k, old] : *dict) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  dict->emplace_back(std::move(key), std::move(v));
}

std::string_view KindName(Value::Kind k) {
  switch (k) {
    case Value::Kind::kUndefined: return "undefined";
    case Value::Kind::kNone: return "none";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "string";
    case Value::Kind::kList: return "list";
    case Value::Kind::kDict: return "dict";
  }
  return "?";
}

namespace {

std::string FloatString(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", f);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string QuoteString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "'";
}

void JsonString(const std::string& s, std::string* out) {
  *out += '"';
  for (char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          *out += c;
        }
    }
  }
  *out += '"';
}

}  // namespace

std::string Repr(const Value& v) {
  if (v.kind == Value::Kind::kString) return QuoteString(v.s);
  return ToString(v);
}

std::string ToString(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.b ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kFloat: return FloatString(v.f);
    case Value::Kind::kString: return v.s;
    case Value::Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += ", ";
        out += Repr((*v.list)[i]);
      }
      return out + "]";
    }
    case Value::Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < v.dict->size(); ++i) {
        if (i) out += ", ";
        out += QuoteString((*v.dict)[i].first) + ": " + Repr((*v.dict)[i].second);
      }
      return out + "}";
    }
  }
  return "";
}

std::string ToJson(const Value& v, int indent, int depth) {
  if (depth > 64) return "null";
  // Built with append: g++ 12 at -O3 reports `"\n" + std::string(n, ' ')` as an overlapping
  // memcpy (a false -Wrestrict, GCC bug 105329), which breaks -Werror release builds.
  std::string nl, nl_end;
  if (indent >= 0) {
    nl.append(1, '\n').append(static_cast<size_t>(indent) * (depth + 1), ' ');
    nl_end.append(1, '\n').append(static_cast<size_t>(indent) * depth, ' ');
  }
  const std::string sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return "null";
    case Value::Kind::kBool: return v.b ? "true" : "false";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kFloat: return std::isfinite(v.f) ? FloatString(v.f) : "NaN";
    case Value::Kind::kString: {
      std::string out;
      JsonString(v.s, &out);
      return out;
    }
    case Value::Kind::kList: {
      if (v.list->empty()) return "[]";
      std::string out = "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        out += (i ? sep : "") + nl + ToJson((*v.list)[i], indent, depth + 1);
      }
      return out + nl_end + "]";
    }
    case Value::Kind::kDict: {
      if (v.dict->empty()) return "{}";
      std::string out = "{";
      for (size_t i = 0; i < v.dict->size(); ++i) {
        out += (i ? sep : "") + nl;
        JsonString((*v.dict)[i].first, &out);
        out += ": " + ToJson((*v.dict)[i].second, indent, depth + 1);
      }
      return out + nl_end + "}";
    }
  }
  return "null";
}

bool Equal(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.kind == Value::Kind::kFloat || b.kind == Value::Kind::kFloat) {
      return a.AsDouble() == b.AsDouble();
    }
    return (a.kind == Value::Kind::kBool ? a.b : a.i) == (b.kind == Value::Kind::kBool ? b.b : b.i);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.s == b.s;
    case Value::Kind::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i) {
        if (!Equal((*a.list)[i], (*b.list)[i])) return false;
      }
      return true;
    case Value::Kind::kDict:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        const Value* o = b.Get(k);
        if (o == nullptr || !Equal(v, *o)) return false;
      }
      return true;
    default: return false;
  }
}

}  // namespace inferline::engine::jinja
