// `inferline bench engine`: the built-in engine's speed against this machine's memory-bandwidth
// roofline (the work is in bench/engine; see docs/benchmarks.md).
#include <cstdio>
#include <memory>

#include "app/command.h"
#include "app/model_path.h"
#include "bench/engine/engine_bench.h"

namespace inferline::app {

void AddBenchCommand(CLI::App& app, Commands& commands) {
  CLI::App* bench = app.add_subcommand("bench", "Run the built-in benchmarks");
  bench->require_subcommand(1);
  CLI::App* sub = bench->add_subcommand(
      "engine",
      "Engine speed: prefill, time to first token, decode at 1..64 concurrent sequences, "
      "against the memory-bandwidth roofline (GPT-2 124M with random weights, and kjv-small)");
  auto o = std::make_shared<engine::bench::EngineBenchOptions>();
  o->kjv_dir = DefaultModelPath();
  engine::bench::DeclareEngineBenchFlags(*sub, *o);
  commands.Add(sub, [o] {
    const Status st = engine::bench::RunEngineBench(*o, stdout, stderr);
    if (!st.ok()) {
      std::fprintf(stderr, "inferline bench engine: %s\n", st.message().c_str());
      return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    return 0;
  });
}

}  // namespace inferline::app
