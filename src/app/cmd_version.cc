#include <cstdio>

#include "app/command.h"
#include "app/version.h"
#include "common/allocator.h"

namespace inferline::app {

void AddVersionCommand(CLI::App& app, Commands& commands) {
  CLI::App* sub = app.add_subcommand("version", "Print the version and build information");
  commands.Add(sub, [] {
    std::printf("inferline %s (%s, %s, malloc: %s)\n", kVersion, kBuildType, kCompiler,
                AllocatorName().c_str());
    return 0;
  });
}

}  // namespace inferline::app
