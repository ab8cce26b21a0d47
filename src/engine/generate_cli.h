// The engine side of `inferline generate`: load a model folder, encode a prompt, stream the
// generated text to a FILE*, and report throughput. The app's cmd_generate.cc declares the
// options and calls RunGenerateCli; keeping the work here makes it testable without the binary.
//
// Sampling values left unset fall back to the model's generation_config.json (where
// do_sample: false means greedy), then to SamplingParams' defaults.
//
// Thread-safety: a plain function; it loads its own model.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace inferline::engine {

struct GenerateCliOptions {
  std::string model_dir;
  std::string prompt;
  int max_tokens = 128;
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int> top_k;
  std::optional<float> repetition_penalty;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  int threads = 0;          // 0 = all hardware threads
  std::FILE* out = stdout;  // the generated text
  std::FILE* err = stderr;  // statistics
};

// Errors: the model or tokenizer cannot be loaded, or the request is invalid (see
// Generator::Generate); the message names the problem.
[[nodiscard]] Status RunGenerateCli(const GenerateCliOptions& options);

}  // namespace inferline::engine
