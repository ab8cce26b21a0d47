// inferline: one binary, one subcommand per capability.
#include <CLI/CLI.hpp>

#include "app/command.h"

int main(int argc, char** argv) {
  using namespace inferline::app;
  CLI::App app("inferline: an asynchronous LLM inference platform with exact token quotas",
               "inferline");
  app.require_subcommand(0, 1);
  Commands commands;
  AddServeCommand(app, commands);
  AddGatewayCommand(app, commands);
  AddWorkerCommand(app, commands);
  AddCollectorCommand(app, commands);
  AddMigrateCommand(app, commands);
  AddKeysCommand(app, commands);
  AddGenerateCommand(app, commands);
  AddBenchCommand(app, commands);
  AddPullCommand(app, commands);
  AddTokenizeCommand(app, commands);
  AddVersionCommand(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return commands.RunSelected(app);
}
