// bench_engine: the engine benchmark without the rest of the `inferline` binary (the same
// options and code as `inferline bench engine`).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "bench/engine/engine_bench.h"

int main(int argc, char** argv) {
  CLI::App app("Engine speed against the memory-bandwidth roofline");
  inferline::engine::bench::EngineBenchOptions o;
  inferline::engine::bench::DeclareEngineBenchFlags(app, o);
  CLI11_PARSE(app, argc, argv);
  const inferline::Status st = inferline::engine::bench::RunEngineBench(o, stdout, stderr);
  if (!st.ok()) {
    std::fprintf(stderr, "bench engine: %s\n", st.ToString().c_str());
    return st.code() == inferline::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
