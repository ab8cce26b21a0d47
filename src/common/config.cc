#include "common/config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace inferline::config {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::optional<int64_t> ParseInt(const std::string& s) {
  std::string t = Trim(s);
  if (t.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(const std::string& s) {
  std::string t = Trim(s);
  if (t.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<bool> ParseBool(const std::string& s) {
  std::string t = Trim(s);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return std::nullopt;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = Trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string FormatDouble(double v) { return fmt::format("{}", v); }

}  // namespace

std::string Config::EnvName(const std::string& key) {
  std::string out = "INFERLINE_";
  for (char c : key) {
    out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string Config::FlagName(const std::string& key) {
  std::string out = "--";
  for (char c : key) out += (c == '.' || c == '_') ? '-' : c;
  return out;
}

Config::Option& Config::Add(std::string key, Kind kind, void* target, std::string help,
                            std::string alias) {
  Option opt;
  opt.key = std::move(key);
  opt.kind = kind;
  opt.target = target;
  opt.help = std::move(help);
  opt.alias = std::move(alias);
  options_.push_back(std::move(opt));
  return options_.back();
}

void Config::Int(std::string key, int64_t* target, int64_t def, int64_t min, int64_t max,
                 std::string help, std::string alias) {
  Option& o = Add(std::move(key), Kind::kInt, target, std::move(help), std::move(alias));
  o.imin = min;
  o.imax = max;
  *target = def;
}

void Config::Double(std::string key, double* target, double def, double min, double max,
                    std::string help, std::string alias) {
  Option& o = Add(std::move(key), Kind::kDouble, target, std::move(help), std::move(alias));
  o.dmin = min;
  o.dmax = max;
  *target = def;
}

void Config::String(std::string key, std::string* target, std::string def, std::string help,
                    std::string alias) {
  Add(std::move(key), Kind::kString, target, std::move(help), std::move(alias));
  *target = std::move(def);
}

void Config::Choice(std::string key, std::string* target, std::string def,
                    std::vector<std::string> choices, std::string help, std::string alias) {
  help += " (one of: " + fmt::format("{}", fmt::join(choices, ", ")) + ")";
  Option& o = Add(std::move(key), Kind::kString, target, std::move(help), std::move(alias));
  o.choices = std::move(choices);
  *target = std::move(def);
}

void Config::Secret(std::string key, std::string* target, std::string help, std::string alias) {
  Option& o = Add(std::move(key), Kind::kString, target, std::move(help), std::move(alias));
  o.secret = true;
  target->clear();
}

void Config::Bool(std::string key, bool* target, bool def, std::string help, std::string alias) {
  Add(std::move(key), Kind::kBool, target, std::move(help), std::move(alias));
  *target = def;
}

void Config::List(std::string key, std::vector<std::string>* target, std::vector<std::string> def,
                  std::string help, std::string alias) {
  Add(std::move(key), Kind::kList, target, std::move(help), std::move(alias));
  *target = std::move(def);
}

Status Config::Yaml(std::string key, std::string default_yaml, std::string help, YamlApply apply,
                    std::string alias) {
  Option& o = Add(std::move(key), Kind::kYaml, nullptr, std::move(help), std::move(alias));
  o.yaml_apply = std::move(apply);
  YAML::Node node;
  try {
    node = YAML::Load(default_yaml);
  } catch (const YAML::Exception& e) {
    return Internal(fmt::format("default of '{}' is not YAML: {}", o.key, e.msg));
  }
  return SetYaml(o, node, "default");
}

Status Config::SetYaml(Option& o, const YAML::Node& node, const std::string& where) {
  try {
    RETURN_IF_ERROR(o.yaml_apply(node, where));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}: key '{}': {}", where, o.key, e.msg), o.key);
  }
  YAML::Emitter out;
  out << YAML::Flow << node;
  o.yaml_text = out.c_str();
  return Status::Ok();
}

void Config::Bind(CLI::App& app) {
  app.add_option("--config", config_file_, "YAML configuration file");
  app.add_flag("--print-config", print_config_,
               "Print the effective configuration (secrets masked) and exit");
  for (Option& o : options_) {
    std::string names = FlagName(o.key);
    if (!o.alias.empty()) names += "," + o.alias;
    std::string help = o.help + " [env " + EnvName(o.key) + "]";
    if (o.kind == Kind::kBool) {
      // `--flag` means true; `--flag=false` is accepted too.
      app.add_flag(names, o.flag_value, help)->each([&o](const std::string&) { o.flag_set = true; });
    } else {
      app.add_option(names, o.flag_value, help)
          ->each([&o](const std::string&) { o.flag_set = true; });
    }
  }
}

Config::Option* Config::FindOption(const std::string& key) {
  for (Option& o : options_) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

Status Config::Set(Option& o, const std::string& text, const std::string& where) {
  auto bad = [&](const std::string& what) {
    return InvalidArgument(fmt::format("{}: key '{}' {}", where, o.key, what), o.key);
  };
  switch (o.kind) {
    case Kind::kInt: {
      auto v = ParseInt(text);
      if (!v) return bad(fmt::format("expects an integer, got '{}'", text));
      if (*v < o.imin || *v > o.imax) {
        return bad(fmt::format("must be between {} and {}, got {}", o.imin, o.imax, *v));
      }
      *static_cast<int64_t*>(o.target) = *v;
      break;
    }
    case Kind::kDouble: {
      auto v = ParseDouble(text);
      if (!v) return bad(fmt::format("expects a number, got '{}'", text));
      if (*v < o.dmin || *v > o.dmax) {
        return bad(fmt::format("must be between {} and {}, got {}", FormatDouble(o.dmin),
                               FormatDouble(o.dmax), FormatDouble(*v)));
      }
      *static_cast<double*>(o.target) = *v;
      break;
    }
    case Kind::kString: {
      if (!o.choices.empty() &&
          std::find(o.choices.begin(), o.choices.end(), text) == o.choices.end()) {
        return bad(fmt::format("must be one of [{}], got '{}'", fmt::join(o.choices, ", "), text));
      }
      *static_cast<std::string*>(o.target) = text;
      break;
    }
    case Kind::kBool: {
      auto v = ParseBool(text);
      if (!v) return bad(fmt::format("expects true or false, got '{}'", text));
      *static_cast<bool*>(o.target) = *v;
      break;
    }
    case Kind::kList:
      *static_cast<std::vector<std::string>*>(o.target) = SplitList(text);
      break;
    case Kind::kYaml: {
      YAML::Node node;
      try {
        node = YAML::Load(text);
      } catch (const YAML::Exception& e) {
        return bad(fmt::format("is not valid YAML: {}", e.msg));
      }
      return SetYaml(o, node, where);
    }
  }
  return Status::Ok();
}

Status Config::ApplyYaml(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: invalid YAML: {}", origin, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgument(fmt::format("{}: the top level must be a mapping", origin));

  // Depth-first walk joining nested keys with '.'.
  std::function<Status(const YAML::Node&, const std::string&)> walk =
      [&](const YAML::Node& node, const std::string& prefix) -> Status {
    for (const auto& kv : node) {
      std::string name = kv.first.as<std::string>();
      std::string key = prefix.empty() ? name : prefix + "." + name;
      const YAML::Node& value = kv.second;
      std::string where = fmt::format("{}:{}", origin, kv.first.Mark().line + 1);
      Option* opt = FindOption(key);
      if (value.IsMap() && opt == nullptr) {
        RETURN_IF_ERROR(walk(value, key));
        continue;
      }
      if (opt == nullptr) {
        return InvalidArgument(fmt::format("{}: unknown key '{}'", where, key), key);
      }
      if (opt->kind == Kind::kYaml) {
        RETURN_IF_ERROR(SetYaml(*opt, value, where));
        opt->source = where;
        continue;
      }
      if (opt->kind == Kind::kList) {
        if (value.IsSequence()) {
          std::vector<std::string> items;
          for (const auto& item : value) {
            if (!item.IsScalar()) {
              return InvalidArgument(fmt::format("{}: key '{}' expects a list of strings", where, key), key);
            }
            items.push_back(item.as<std::string>());
          }
          *static_cast<std::vector<std::string>*>(opt->target) = std::move(items);
          opt->source = where;
          continue;
        }
      }
      if (!value.IsScalar()) {
        return InvalidArgument(fmt::format("{}: key '{}' expects a single value", where, key), key);
      }
      RETURN_IF_ERROR(Set(*opt, value.as<std::string>(), where));
      opt->source = where;
    }
    return Status::Ok();
  };
  return walk(root, "");
}

Status Config::Resolve(const std::map<std::string, std::string>* environ_vars) {
  if (!config_file_.empty()) {
    std::ifstream in(config_file_);
    if (!in) return InvalidArgument(fmt::format("cannot read config file '{}'", config_file_), "config");
    std::stringstream ss;
    ss << in.rdbuf();
    RETURN_IF_ERROR(ApplyYaml(ss.str(), config_file_));
  }

  std::map<std::string, std::string> env;
  if (environ_vars) {
    env = *environ_vars;
  } else {
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      size_t eq = kv.find('=');
      if (eq != std::string::npos && kv.rfind("INFERLINE_", 0) == 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("INFERLINE_", 0) != 0) continue;
    bool known = false;
    for (Option& o : options_) {
      if (EnvName(o.key) == name) {
        RETURN_IF_ERROR(Set(o, value, "environment variable " + name));
        o.source = "env " + name;
        known = true;
      }
    }
    if (!known && name != "INFERLINE_SOURCE_DIR" && name != "INFERLINE_BINARY") {
      warnings_.push_back(fmt::format("ignoring unknown environment variable {}", name));
    }
  }

  for (Option& o : options_) {
    if (!o.flag_set) continue;
    RETURN_IF_ERROR(Set(o, o.flag_value, "flag " + FlagName(o.key)));
    o.source = "flag";
  }
  return Status::Ok();
}

std::string Config::Render(const Option& o) const {
  if (o.secret) {
    return static_cast<const std::string*>(o.target)->empty() ? "\"\"" : "\"********\"";
  }
  switch (o.kind) {
    case Kind::kInt: return fmt::format("{}", *static_cast<const int64_t*>(o.target));
    case Kind::kDouble: return FormatDouble(*static_cast<const double*>(o.target));
    case Kind::kBool: return *static_cast<const bool*>(o.target) ? "true" : "false";
    case Kind::kString: {
      YAML::Emitter e;
      e << YAML::DoubleQuoted << *static_cast<const std::string*>(o.target);
      return e.c_str();
    }
    case Kind::kYaml: return o.yaml_text;
    case Kind::kList: {
      YAML::Emitter e;
      e << YAML::Flow << *static_cast<const std::vector<std::string>*>(o.target);
      return e.c_str();
    }
  }
  return {};
}

std::string Config::Print() const {
  // Options sorted by key and nested by their dotted prefixes.
  std::vector<const Option*> sorted;
  for (const Option& o : options_) sorted.push_back(&o);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->key < b->key; });
  std::string out;
  std::vector<std::string> open;  // currently open sections
  for (const Option* o : sorted) {
    std::vector<std::string> parts;
    std::stringstream ss(o->key);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(p);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    open.resize(common);
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out += std::string(2 * i, ' ') + parts[i] + ":\n";
      open.push_back(parts[i]);
    }
    out += fmt::format("{}{}: {}  # {}\n", std::string(2 * (parts.size() - 1), ' '), parts.back(),
                       Render(*o), o->source);
  }
  return out;
}

}  // namespace inferline::config
