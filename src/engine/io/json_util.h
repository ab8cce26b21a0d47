// Small, non-throwing helpers for reading Hugging Face JSON files with Boost.JSON.
//
// Boost.JSON's accessors throw on a type mismatch; model files come from users, so every read
// here checks the type first and reports "<file>: key 'x' must be ..." instead. Numbers in JSON
// may arrive as int64, uint64 or double; the getters accept whichever represents the value
// exactly.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/status.h"

namespace inferline::engine::json {

// Parses `text`; `what` names the file in errors. Depth is limited (Boost's default, 32).
[[nodiscard]] Result<boost::json::value> Parse(std::string_view text, std::string_view what);

// Integral value of `v` if it holds an exact integer (also 3.0), else nullopt.
std::optional<int64_t> AsInt(const boost::json::value& v);
std::optional<double> AsDouble(const boost::json::value& v);

// Typed optional getters: nullopt when absent or null; an error when present with a wrong type.
[[nodiscard]] Result<std::optional<int64_t>> GetInt(const boost::json::object& o,
                                                    std::string_view key, std::string_view what);
[[nodiscard]] Result<std::optional<double>> GetDouble(const boost::json::object& o,
                                                      std::string_view key, std::string_view what);
[[nodiscard]] Result<std::optional<bool>> GetBool(const boost::json::object& o,
                                                  std::string_view key, std::string_view what);
[[nodiscard]] Result<std::optional<std::string>> GetString(const boost::json::object& o,
                                                           std::string_view key,
                                                           std::string_view what);

}  // namespace inferline::engine::json
