// `inferline bench engine`: how fast the built-in engine runs, against the memory-bandwidth
// limit of this machine.
//
// For each model (a GPT-2-124M-shaped model with random weights generated locally, and the
// shipped kjv-small) and each weight precision: prefill tokens/s, time to first token, decode
// tokens/s at several numbers of concurrent sequences (through the batching Engine), and the
// decode roofline: the measured streaming-read bandwidth divided by the bytes of weights one
// decode step reads — the speed one sequence would reach if decoding did nothing but read the
// weights once per token.
//
// Thread-safety: RunEngineBench uses the whole machine; run one at a time.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/status.h"

namespace CLI {
class App;
}

namespace inferline::engine::bench {

struct EngineBenchOptions {
  std::vector<std::string> models = {"gpt2-124m", "kjv-small"};
  std::vector<std::string> dtypes = {"f32", "bf16", "int8"};
  std::vector<int> concurrency = {1, 4, 16, 32, 64};
  int prompt_tokens = 32;     // per decoding sequence
  int gen_tokens = 32;        // per decoding sequence
  int prefill_tokens = 128;   // the prefill measurement's prompt
  int serial_requests = 32;   // "served one after another" vs all at once
  int threads = 2;
  int repeats = 3;            // prefill and bandwidth: best of
  int decode_repeats = 3;     // each decode point: the median run (by decode tokens/s)
  int64_t bandwidth_mib = 512;
  std::string kjv_dir = "models/kjv-small";
  // Where the random GPT-2 folder is written (and reused): config.json + model.safetensors, so
  // bench/engine/torch_baseline.py can load the very same weights.
  std::string random_model_dir = "/tmp/inferline-bench/gpt2-124m";
  std::string csv;  // also write every number here
};

// Declares the options on a CLI11 (sub)command, once for both `inferline bench engine` and the
// standalone bench_engine binary.
void DeclareEngineBenchFlags(CLI::App& app, EngineBenchOptions& o);

// Runs everything and prints the table to `out` (progress to `err`).
[[nodiscard]] Status RunEngineBench(const EngineBenchOptions& o, std::FILE* out, std::FILE* err);

// Pieces, exposed for the bench's own tests.

// Streaming read bandwidth in bytes/s: `threads` threads summing a buffer of `mib` MiB, best
// of `repeats` passes.
double MeasureReadBandwidth(int64_t mib, int threads, int repeats);

// Writes a GPT-2 folder (config.json, model.safetensors in HF GPT2LMHeadModel names) with
// random weights from `seed`, unless `dir` already holds one of the same shape.
struct Gpt2Shape {
  int vocab = 50257, layers = 12, hidden = 768, heads = 12, context = 1024;
};
[[nodiscard]] Status WriteRandomGpt2(const std::string& dir, const Gpt2Shape& shape,
                                     uint64_t seed);

}  // namespace inferline::engine::bench
