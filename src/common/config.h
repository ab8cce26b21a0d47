// Configuration declared once per subcommand.
//
// A subcommand declares each option one time (key, type, default, range, help); that single
// declaration yields the command-line flag (`--http-port`, plus an optional short alias such as
// `--port`), the environment variable (`INFERLINE_HTTP_PORT`) and the YAML key (`http: {port:}`).
// Values are applied in rising precedence: default < YAML file (`--config`) < environment <
// flags. Unknown keys in the file, wrong types and out-of-range values are errors that name the
// key, and the file line where there is one. Unknown INFERLINE_* variables are reported as
// warnings (several subcommands may share one environment).
//
// Thread-safety: a Config is built and resolved on one thread before the program starts work.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace CLI {
class App;
}
namespace YAML {
class Node;
}

namespace inferline::config {

class Config {
 public:
  Config() = default;
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // Declarations. `target` must outlive the Config; it receives the default immediately.
  void Int(std::string key, int64_t* target, int64_t def, int64_t min, int64_t max,
           std::string help, std::string alias = {});
  void Double(std::string key, double* target, double def, double min, double max,
              std::string help, std::string alias = {});
  void String(std::string key, std::string* target, std::string def, std::string help,
              std::string alias = {});
  // A string that must be one of `choices`.
  void Choice(std::string key, std::string* target, std::string def,
              std::vector<std::string> choices, std::string help, std::string alias = {});
  // Like String, but masked by Print().
  void Secret(std::string key, std::string* target, std::string help, std::string alias = {});
  void Bool(std::string key, bool* target, bool def, std::string help, std::string alias = {});
  // Comma-separated in flags and environment; a YAML sequence in the file.
  void List(std::string key, std::vector<std::string>* target, std::vector<std::string> def,
            std::string help, std::string alias = {});

  // A structured value (a YAML mapping or sequence, e.g. the quota plans). `apply` receives the
  // node from each source in precedence order (default, file, environment, flag) and `where`
  // names it for error messages ("plans.yaml:12", "environment variable INFERLINE_PLANS");
  // nested positions are available from node.Mark(). Environment and flags take YAML (flow
  // style fits on one line: `{free: {tokens_per_day: 1000}}`).
  using YamlApply = std::function<Status(const YAML::Node& node, const std::string& where)>;
  [[nodiscard]] Status Yaml(std::string key, std::string default_yaml, std::string help,
                            YamlApply apply, std::string alias = {});

  // Adds one flag per option plus --config and --print-config to `app`.
  void Bind(CLI::App& app);

  // Applies file, environment and flags (call after CLI parsing). `environ_vars` defaults to
  // the process environment; tests pass their own.
  Status Resolve(const std::map<std::string, std::string>* environ_vars = nullptr);

  // Warnings found by Resolve (e.g. unknown INFERLINE_* variables).
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool print_requested() const { return print_config_; }
  // The effective configuration as YAML, secrets masked, with the source of each value.
  std::string Print() const;

  // Parses a YAML document directly (for tests and for the file step of Resolve).
  Status ApplyYaml(const std::string& text, const std::string& origin);
  static std::string EnvName(const std::string& key);
  static std::string FlagName(const std::string& key);

 private:
  enum class Kind { kInt, kDouble, kString, kBool, kList, kYaml };
  struct Option {
    std::string key;
    Kind kind;
    std::string help;
    std::string alias;
    bool secret = false;
    std::vector<std::string> choices;
    int64_t imin = 0, imax = 0;
    double dmin = 0, dmax = 0;
    void* target = nullptr;
    std::string source = "default";
    YamlApply yaml_apply;
    std::string yaml_text;   // for Print
    std::string flag_value;  // filled by CLI11
    bool flag_set = false;
  };

  Option& Add(std::string key, Kind kind, void* target, std::string help, std::string alias);
  Option* FindOption(const std::string& key);
  // Parses `text` into the option's target; `where` names the origin for error messages.
  Status Set(Option& opt, const std::string& text, const std::string& where);
  Status SetYaml(Option& opt, const YAML::Node& node, const std::string& where);
  std::string Render(const Option& opt) const;

  std::deque<Option> options_;  // deque: CLI11 holds pointers into it
  std::string config_file_;
  bool print_config_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace inferline::config
