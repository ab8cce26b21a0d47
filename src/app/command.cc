#include "app/command.h"

#include <cstdio>

namespace inferline::app {

int Commands::RunSelected(CLI::App& app) const {
  for (const Entry& e : entries_) {
    if (e.sub->parsed()) return e.run();
  }
  std::fputs(app.help().c_str(), stderr);
  return 64;
}

void DeclareLogOptions(config::Config& cfg, LogOptions& opts) {
  cfg.Choice("log.level", &opts.level, "info", {"debug", "info", "warn", "error"}, "Log level");
  cfg.Choice("log.format", &opts.format, "auto", {"auto", "text", "json"},
             "Log format: text on a terminal and JSON lines otherwise when auto");
}

int RunWithConfig(config::Config& cfg, const LogOptions* log_opts,
                  const std::function<int()>& run) {
  Status st = cfg.Resolve();
  if (!st.ok()) {
    std::fprintf(stderr, "inferline: configuration error: %s\n", st.message().c_str());
    return 2;
  }
  if (cfg.print_requested()) {
    std::fputs(cfg.Print().c_str(), stdout);
    return 0;
  }
  if (log_opts) {
    log::Level level = log::Level::kInfo;
    log::Format format = log::Format::kAuto;
    (void)log::ParseLevel(log_opts->level, &level);
    (void)log::ParseFormat(log_opts->format, &format);
    log::Init(format, level);
  }
  for (const auto& w : cfg.warnings()) log::Warn("{}", w);
  return run();
}

}  // namespace inferline::app
