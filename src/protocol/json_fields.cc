#include "protocol/json_fields.h"

#include <fmt/format.h>

#include <cmath>

namespace inferline::protocol {

Result<boost::json::object> ParseObject(std::string_view text, boost::json::storage_ptr sp) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, std::move(sp));
  if (ec) {
    return InvalidArgument(fmt::format("the body is not valid JSON: {}", ec.message()));
  }
  if (!v.is_object()) {
    return InvalidArgument(fmt::format("the body must be a JSON object, got {}", JsonKindName(v)));
  }
  return std::move(v.as_object());
}

std::string_view JsonKindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "an integer";
    case boost::json::kind::double_: return "a number";
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
  }
  return "a value";
}

const boost::json::value* Fields::Get(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

bool Fields::Has(std::string_view key) const { return Get(key) != nullptr; }

Result<std::optional<std::string>> Fields::String(std::string_view key) const {
  const auto* v = Get(key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) {
    return InvalidArgument(fmt::format("'{}' must be a string, got {}", Param(key), JsonKindName(*v)),
                           Param(key));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::optional<int64_t>> Fields::Int(std::string_view key, int64_t min, int64_t max) const {
  const auto* v = Get(key);
  if (!v) return std::optional<int64_t>();
  int64_t x = 0;
  if (v->is_int64()) {
    x = v->as_int64();
  } else if (v->is_uint64()) {
    if (v->as_uint64() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgument(fmt::format("'{}' is too large", Param(key)), Param(key));
    }
    x = static_cast<int64_t>(v->as_uint64());
  } else if (v->is_double() && std::floor(v->as_double()) == v->as_double() &&
             std::fabs(v->as_double()) < 9e15) {
    x = static_cast<int64_t>(v->as_double());  // 16.0 is an integer, as in OpenAI's API
  } else {
    return InvalidArgument(
        fmt::format("'{}' must be an integer, got {}", Param(key), JsonKindName(*v)), Param(key));
  }
  if (x < min || x > max) {
    return InvalidArgument(
        fmt::format("'{}' must be between {} and {}, got {}", Param(key), min, max, x), Param(key));
  }
  return std::optional<int64_t>(x);
}

Result<std::optional<double>> Fields::Number(std::string_view key, double min, double max) const {
  const auto* v = Get(key);
  if (!v) return std::optional<double>();
  double x = 0;
  if (v->is_double()) x = v->as_double();
  else if (v->is_int64()) x = static_cast<double>(v->as_int64());
  else if (v->is_uint64()) x = static_cast<double>(v->as_uint64());
  else {
    return InvalidArgument(fmt::format("'{}' must be a number, got {}", Param(key), JsonKindName(*v)),
                           Param(key));
  }
  if (!std::isfinite(x) || x < min || x > max) {
    return InvalidArgument(
        fmt::format("'{}' must be between {} and {}, got {}", Param(key), min, max, x), Param(key));
  }
  return std::optional<double>(x);
}

Result<std::optional<bool>> Fields::Bool(std::string_view key) const {
  const auto* v = Get(key);
  if (!v) return std::optional<bool>();
  if (!v->is_bool()) {
    return InvalidArgument(fmt::format("'{}' must be a boolean, got {}", Param(key), JsonKindName(*v)),
                           Param(key));
  }
  return std::optional<bool>(v->as_bool());
}

Result<std::string> Fields::RequiredString(std::string_view key) const {
  ASSIGN_OR_RETURN(auto s, String(key));
  if (!s) return InvalidArgument(fmt::format("'{}' is required", Param(key)), Param(key));
  return std::move(*s);
}

Result<int64_t> Fields::RequiredInt(std::string_view key, int64_t min, int64_t max) const {
  ASSIGN_OR_RETURN(auto x, Int(key, min, max));
  if (!x) return InvalidArgument(fmt::format("'{}' is required", Param(key)), Param(key));
  return *x;
}

}  // namespace inferline::protocol
