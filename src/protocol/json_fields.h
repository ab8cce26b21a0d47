// Typed, validating access to the fields of a JSON object. Every error is an InvalidArgument
// whose message and param name the field ("`max_tokens` must be an integer"), so the same
// helpers serve the HTTP API (where a caller sees them) and the queue (where a bad message is
// dead-lettered with the reason).
//
// Thread-safety: values.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace inferline::protocol {

// Parses `text` as a JSON object; the error names what is wrong and where.
// `sp`: where the parsed tree lives (default: the heap); e.g. a monotonic_resource on the
// caller's stack when nothing of the tree outlives the call.
Result<boost::json::object> ParseObject(std::string_view text, boost::json::storage_ptr sp = {});

class Fields {
 public:
  // `prefix` is prepended to param names ("stream_options." for a nested object).
  explicit Fields(const boost::json::object& obj, std::string prefix = {})
      : obj_(obj), prefix_(std::move(prefix)) {}

  bool Has(std::string_view key) const;  // present and not null
  const boost::json::value* Get(std::string_view key) const;

  Result<std::optional<std::string>> String(std::string_view key) const;
  Result<std::optional<int64_t>> Int(std::string_view key, int64_t min, int64_t max) const;
  Result<std::optional<double>> Number(std::string_view key, double min, double max) const;
  Result<std::optional<bool>> Bool(std::string_view key) const;

  // Required variants: a missing or null field is an error naming it.
  Result<std::string> RequiredString(std::string_view key) const;
  Result<int64_t> RequiredInt(std::string_view key, int64_t min, int64_t max) const;

  std::string Param(std::string_view key) const { return prefix_ + std::string(key); }

 private:
  const boost::json::object& obj_;
  std::string prefix_;
};

std::string_view JsonKindName(const boost::json::value& v);

}  // namespace inferline::protocol
