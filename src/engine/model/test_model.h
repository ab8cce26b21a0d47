// Small random models built in memory, for tests that need a Model but not a trained one
// (batching and caching equivalences, input validation, the generation loop).
//
// The weights are written as a real safetensors buffer with the Hugging Face tensor names, so
// the whole loading path (names, shapes, Conv1D transposes, q/k/v stacking) is exercised.
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/io/model_config.h"
#include "engine/io/safetensors.h"
#include "engine/model/model.h"

namespace inferline::engine::testing {

// A small config of the given architecture ("gpt2" or "llama"; Llama uses GQA with 4 query
// heads over 2 kv heads and, when rope_type is "llama3", Llama-3 RoPE scaling).
ModelConfig TinyConfig(const std::string& arch, bool tied = true,
                       const std::string& rope_type = "");

// Random weights for `config`, scaled so that logits differ clearly between tokens.
[[nodiscard]] Result<std::unique_ptr<WeightFile>> RandomWeightFile(const ModelConfig& config,
                                                                   uint64_t seed);

[[nodiscard]] Result<std::unique_ptr<Model>> RandomModel(const ModelConfig& config, uint64_t seed,
                                                         int num_threads = 2);

}  // namespace inferline::engine::testing
