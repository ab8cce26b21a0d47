// Plans and per-user limit overrides.
//
// A plan is a named set of quota limits (quota::Limits; absent = unlimited). The catalog starts
// with two built-in plans, `default` (the original system's 100 requests and 100,000 tokens a
// day) and `unlimited`, and the `quota.plans` configuration adds or replaces plans:
//
//   quota:
//     plans:
//       free: {requests_per_day: 100, tokens_per_day: 100000}
//       pro:  {tokens_per_minute: 200000, max_concurrent: 16, tokens_per_month: 50000000}
//
// Limit keys: requests_per_minute, tokens_per_minute, requests_per_day, tokens_per_day,
// requests_per_month, tokens_per_month, max_concurrent (alias concurrent_requests); a missing or
// null key means unlimited. A user's `limits_json` (store::User) overrides single keys of its
// plan: a number replaces the plan's limit, null removes it (unlimited), an absent key inherits.
//
// Thread-safety: a PlanCatalog is built at start-up and then only read (any thread).
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "quota/limits.h"

namespace YAML {
class Node;
}

namespace inferline::gateway {

// The configuration / API name of a window's limit ("max_concurrent", "tokens_per_day", ...).
std::string_view LimitKey(quota::Window w);

// Limits as JSON: every key, null when unlimited.
boost::json::object LimitsToJson(const quota::Limits& limits);

// Per-user overrides: for each window, nothing (inherit), or a value (nullopt = unlimited).
struct LimitOverrides {
  std::array<std::optional<std::optional<int64_t>>, quota::kAllWindows.size()> values;
  bool empty() const;
};

// Parses an overrides object; `param` prefixes error params ("limits"). Unknown keys, negative
// numbers and non-integers are errors naming the key.
[[nodiscard]] Result<LimitOverrides> ParseOverrides(const boost::json::value& v,
                                                    std::string_view param = "limits");
[[nodiscard]] Result<LimitOverrides> ParseOverridesJson(std::string_view json);
// Stored overrides, or none when they cannot be read.
LimitOverrides OverridesOrEmpty(std::string_view json);
std::string OverridesToJson(const LimitOverrides& o);
boost::json::object OverridesToObject(const LimitOverrides& o);
// Applies `patch` on top of `base` (a PATCH of a user's overrides).
LimitOverrides MergeOverrides(const LimitOverrides& base, const LimitOverrides& patch);
quota::Limits ApplyOverrides(const quota::Limits& plan, const LimitOverrides& overrides);

class PlanCatalog {
 public:
  // `default` and `unlimited`.
  PlanCatalog();

  // Adds or replaces the plans of a YAML mapping (name -> limits); `where` names the source.
  [[nodiscard]] Status ApplyYaml(const YAML::Node& node, const std::string& where);
  void Set(std::string name, quota::Limits limits) { plans_[std::move(name)] = limits; }

  const quota::Limits* Find(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  const std::map<std::string, quota::Limits, std::less<>>& plans() const { return plans_; }

 private:
  std::map<std::string, quota::Limits, std::less<>> plans_;
};

}  // namespace inferline::gateway
