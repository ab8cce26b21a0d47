#include "gateway/plans.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "common/json_value.h"

namespace inferline::gateway {
namespace json = boost::json;
using quota::Window;

namespace {

std::optional<Window> WindowForKey(std::string_view key) {
  if (key == "concurrent_requests") return Window::kConcurrentRequests;
  for (Window w : quota::kAllWindows) {
    if (LimitKey(w) == key) return w;
  }
  return std::nullopt;
}

size_t Index(Window w) { return static_cast<size_t>(w); }

std::string KnownKeys() {
  std::string out;
  for (Window w : quota::kAllWindows) {
    if (!out.empty()) out += ", ";
    out += LimitKey(w);
  }
  return out;
}

}  // namespace

std::string_view LimitKey(Window w) {
  return w == Window::kConcurrentRequests ? "max_concurrent" : quota::WindowName(w);
}

json::object LimitsToJson(const quota::Limits& limits) {
  json::object o;
  for (Window w : quota::kAllWindows) {
    std::optional<int64_t> v = limits.Get(w);
    if (v) {
      o[LimitKey(w)] = *v;
    } else {
      o[LimitKey(w)] = nullptr;
    }
  }
  return o;
}

bool LimitOverrides::empty() const {
  for (const auto& v : values) {
    if (v) return false;
  }
  return true;
}

Result<LimitOverrides> ParseOverrides(const json::value& v, std::string_view param) {
  if (!v.is_object()) {
    return InvalidArgument(fmt::format("'{}' must be an object of limits", param),
                           std::string(param));
  }
  LimitOverrides out;
  for (const auto& kv : v.as_object()) {
    std::string key_param = fmt::format("{}.{}", param, std::string_view(kv.key()));
    std::optional<Window> w = WindowForKey(kv.key());
    if (!w) {
      return InvalidArgument(fmt::format("unknown limit '{}'; known limits: {}",
                                         std::string_view(kv.key()), KnownKeys()),
                             key_param);
    }
    const json::value& val = kv.value();
    if (val.is_null()) {
      out.values[Index(*w)] = std::optional<int64_t>();
    } else if ((val.is_int64() && val.as_int64() >= 0) || val.is_uint64()) {
      int64_t n = val.is_int64() ? val.as_int64()
                                 : static_cast<int64_t>(std::min<uint64_t>(val.as_uint64(),
                                                                           INT64_MAX));
      out.values[Index(*w)] = std::optional<int64_t>(n);
    } else {
      return InvalidArgument(
          fmt::format("'{}' must be a non-negative integer or null (unlimited)", key_param),
          key_param);
    }
  }
  return out;
}

Result<LimitOverrides> ParseOverridesJson(std::string_view text) {
  if (text.empty()) return LimitOverrides{};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return DataLoss(fmt::format("stored limits are not JSON: {}", ec.message()));
  return ParseOverrides(v, "limits");
}

LimitOverrides OverridesOrEmpty(std::string_view text) {
  Result<LimitOverrides> r = ParseOverridesJson(text);
  return r.ok() ? *r : LimitOverrides{};
}

json::object OverridesToObject(const LimitOverrides& o) {
  json::object out;
  for (Window w : quota::kAllWindows) {
    const auto& v = o.values[Index(w)];
    if (!v) continue;
    if (*v) {
      out[LimitKey(w)] = **v;
    } else {
      out[LimitKey(w)] = nullptr;
    }
  }
  return out;
}

std::string OverridesToJson(const LimitOverrides& o) {
  return SerializeJson(OverridesToObject(o));
}

LimitOverrides MergeOverrides(const LimitOverrides& base, const LimitOverrides& patch) {
  LimitOverrides out = base;
  for (size_t i = 0; i < out.values.size(); ++i) {
    if (patch.values[i]) out.values[i] = patch.values[i];
  }
  return out;
}

quota::Limits ApplyOverrides(const quota::Limits& plan, const LimitOverrides& overrides) {
  quota::Limits out = plan;
  for (Window w : quota::kAllWindows) {
    const auto& v = overrides.values[Index(w)];
    if (v) out.Set(w, *v);
  }
  return out;
}

PlanCatalog::PlanCatalog() {
  quota::Limits def;
  def.requests_per_day = 100;
  def.tokens_per_day = 100'000;
  plans_["default"] = def;
  plans_["unlimited"] = quota::Limits{};
}

Status PlanCatalog::ApplyYaml(const YAML::Node& node, const std::string& where) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) {
    return InvalidArgument(fmt::format("{}: quota.plans must be a mapping of plan name to limits",
                                       where));
  }
  for (const auto& entry : node) {
    std::string name = entry.first.as<std::string>("");
    std::string at = fmt::format("{} (plan '{}', line {})", where, name, entry.first.Mark().line + 1);
    if (name.empty() || name.size() > 64) return InvalidArgument(at + ": bad plan name");
    quota::Limits limits;
    const YAML::Node& body = entry.second;
    if (!body.IsNull() && !body.IsMap()) {
      return InvalidArgument(at + ": a plan must be a mapping of limit to number");
    }
    if (body.IsMap()) {
      for (const auto& lim : body) {
        std::string key = lim.first.as<std::string>("");
        std::optional<Window> w = WindowForKey(key);
        if (!w) {
          return InvalidArgument(fmt::format("{}: unknown limit '{}'; known limits: {}", at, key,
                                             KnownKeys()));
        }
        if (lim.second.IsNull()) continue;  // unlimited
        int64_t value = -1;
        try {
          value = lim.second.as<int64_t>();
        } catch (const YAML::Exception&) {
          value = -1;
        }
        if (value < 0) {
          return InvalidArgument(
              fmt::format("{}: '{}' must be a non-negative integer (or null for unlimited)", at,
                          key));
        }
        limits.Set(*w, value);
      }
    }
    plans_[name] = limits;
  }
  return Status::Ok();
}

const quota::Limits* PlanCatalog::Find(std::string_view name) const {
  auto it = plans_.find(name);
  return it == plans_.end() ? nullptr : &it->second;
}

}  // namespace inferline::gateway
