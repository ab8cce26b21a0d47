#include "engine/io/json_util.h"

#include <cmath>

#include <fmt/format.h>

namespace inferline::engine::json {

Result<boost::json::value> Parse(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::json::value v = boost::json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument(fmt::format("{} is not valid JSON: {}", what, ec.message()));
  return v;
}

std::optional<int64_t> AsInt(const boost::json::value& v) {
  if (const auto* i = v.if_int64()) return *i;
  if (const auto* u = v.if_uint64()) {
    if (*u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(*u);
    return std::nullopt;
  }
  if (const auto* d = v.if_double()) {
    // 2^63 itself is not representable as int64, so the bound is strict.
    if (std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9.2e18) {
      return static_cast<int64_t>(*d);
    }
  }
  return std::nullopt;
}

std::optional<double> AsDouble(const boost::json::value& v) {
  if (const auto* d = v.if_double()) return *d;
  if (const auto* i = v.if_int64()) return static_cast<double>(*i);
  if (const auto* u = v.if_uint64()) return static_cast<double>(*u);
  return std::nullopt;
}

Result<std::optional<int64_t>> GetInt(const boost::json::object& o, std::string_view key,
                                      std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  auto i = AsInt(*v);
  if (!i) return InvalidArgument(fmt::format("{}: '{}' must be an integer", what, key));
  return std::optional<int64_t>(*i);
}

Result<std::optional<double>> GetDouble(const boost::json::object& o, std::string_view key,
                                        std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  auto d = AsDouble(*v);
  if (!d) return InvalidArgument(fmt::format("{}: '{}' must be a number", what, key));
  return std::optional<double>(*d);
}

Result<std::optional<bool>> GetBool(const boost::json::object& o, std::string_view key,
                                    std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) return InvalidArgument(fmt::format("{}: '{}' must be a boolean", what, key));
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<std::string>> GetString(const boost::json::object& o, std::string_view key,
                                             std::string_view what) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return InvalidArgument(fmt::format("{}: '{}' must be a string", what, key));
  return std::optional<std::string>(std::string(v->get_string()));
}

}  // namespace inferline::engine::json
