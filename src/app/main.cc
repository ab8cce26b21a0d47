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
  AddNotYetCommand(app, commands, "gateway", "Run the HTTP gateway (distributed mode)",
                   "distributed mode (RabbitMQ, PostgreSQL, Redis) has not landed");
  AddNotYetCommand(app, commands, "worker", "Run a worker (distributed mode)",
                   "distributed mode (RabbitMQ, PostgreSQL, Redis) has not landed");
  AddNotYetCommand(app, commands, "collector", "Run the results collector (distributed mode)",
                   "distributed mode (RabbitMQ, PostgreSQL, Redis) has not landed");
  AddNotYetCommand(app, commands, "migrate", "Apply database migrations",
                   "PostgreSQL migrations have not landed");
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
