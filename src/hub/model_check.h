// CheckModelFolder: proves a pulled folder loads the way the engine will load it (config.json,
// every safetensors header, the tokenizer) and summarizes it for the user: architecture,
// parameter count, weight dtype, context length and vocabulary.
//
// Loading maps the weights without reading them, so this takes milliseconds even for
// gigabytes. Things the engine tolerates but a user should know (tensors of a dtype the engine
// cannot compute with, a tokenizer larger than the model's vocabulary) become warnings.
//
// Thread-safety: a pure function over files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace inferline::hub {

struct ModelSummary {
  std::string arch;          // "gpt2" or "llama" (the engine's family)
  std::string class_name;    // config.json "architectures"[0], e.g. "LlamaForCausalLM"
  uint64_t parameters = 0;   // elements of every tensor (tied embeddings counted once)
  std::string dtype;         // "BF16", or "F32 + F16" when mixed
  uint64_t weight_bytes = 0;
  size_t tensors = 0;
  int layers = 0;
  int hidden_size = 0;
  int context = 0;           // max_position_embeddings / n_positions
  int vocab_size = 0;        // config.json
  int tokenizer_vocab = 0;   // tokenizer.json, added tokens included
  bool chat_template = false;
  std::vector<std::string> warnings;
};

[[nodiscard]] Result<ModelSummary> CheckModelFolder(const std::filesystem::path& dir);

// "124M", "1.10B", "7.2K".
std::string FormatParameters(uint64_t n);

}  // namespace inferline::hub
