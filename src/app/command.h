// The subcommand registry of the `inferline` binary.
//
// Each subcommand lives in its own cmd_<name>.cc and exposes one `Add<Name>Command` function
// that declares its options on a CLI11 subcommand and registers the code to run. Options go
// through config::Config so flags, INFERLINE_* variables and the YAML file come from one
// declaration.
//
// Thread-safety: used on the main thread only, before any work starts.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/log.h"

namespace inferline::app {

using Runner = std::function<int()>;

class Commands {
 public:
  void Add(CLI::App* sub, Runner run) { entries_.push_back({sub, std::move(run)}); }
  // Runs the subcommand that was parsed; 64 (usage) when none was given.
  int RunSelected(CLI::App& app) const;

 private:
  struct Entry {
    CLI::App* sub;
    Runner run;
  };
  std::vector<Entry> entries_;
};

// Logging options every long-running subcommand shares.
struct LogOptions {
  std::string level;
  std::string format;
};
void DeclareLogOptions(config::Config& cfg, LogOptions& opts);

// Resolves `cfg` (file, environment, flags), applies the logging options, handles
// --print-config, then calls `run`. Configuration errors print one line naming the key and
// return exit code 2.
int RunWithConfig(config::Config& cfg, const LogOptions* log_opts, const std::function<int()>& run);

void AddVersionCommand(CLI::App& app, Commands& commands);
void AddServeCommand(CLI::App& app, Commands& commands);
void AddKeysCommand(CLI::App& app, Commands& commands);
void AddGenerateCommand(CLI::App& app, Commands& commands);
void AddTokenizeCommand(CLI::App& app, Commands& commands);
void AddPullCommand(CLI::App& app, Commands& commands);
void AddBenchCommand(CLI::App& app, Commands& commands);
void AddGatewayCommand(CLI::App& app, Commands& commands);
void AddWorkerCommand(CLI::App& app, Commands& commands);
void AddCollectorCommand(CLI::App& app, Commands& commands);
void AddMigrateCommand(CLI::App& app, Commands& commands);

}  // namespace inferline::app
