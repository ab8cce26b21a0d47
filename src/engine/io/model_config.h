// Model hyper-parameters and generation defaults from a Hugging Face model folder.
//
// LoadModelConfig reads config.json for the two architectures the engine runs: GPT-2
// (model_type "gpt2"; keys n_embd, n_layer, n_head, n_positions, n_inner, layer_norm_epsilon,
// activation_function) and Llama (model_type "llama"; hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, intermediate_size, max_position_embeddings,
// rms_norm_eps, rope_theta, rope_scaling, head_dim, hidden_act). Defaults follow transformers.
// Every error names the offending key. LoadGenerationConfig reads generation_config.json; a
// missing file means "no defaults", not an error.
//
// Thread-safety: pure functions over files; the returned structs are plain values.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::engine {

struct RopeScaling {
  std::string type;  // "" none, "llama3", "linear"
  float factor = 1;
  float low_freq_factor = 1;
  float high_freq_factor = 4;
  int original_max_position_embeddings = 0;
};

struct ModelConfig {
  std::string arch;  // "gpt2" or "llama"
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  int max_positions = 0;
  float norm_eps = 1e-5f;
  float rope_theta = 10000;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  std::string activation;  // gpt2: "gelu_new"; llama: "silu"
  std::optional<int> bos_token_id;
  std::vector<int> eos_token_ids;
};

[[nodiscard]] Result<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);
// The same from config.json's text; `what` names it in errors.
[[nodiscard]] Result<ModelConfig> ParseModelConfig(std::string_view json_text,
                                                   std::string_view what = "config.json");

struct GenerationDefaults {
  std::optional<float> temperature, top_p, repetition_penalty;
  std::optional<int> top_k, max_length, max_new_tokens;
  std::optional<bool> do_sample;
  std::vector<int> eos_token_ids;
  std::optional<int> bos_token_id;
};

[[nodiscard]] Result<GenerationDefaults> LoadGenerationConfig(const std::filesystem::path& dir);
[[nodiscard]] Result<GenerationDefaults> ParseGenerationConfig(
    std::string_view json_text, std::string_view what = "generation_config.json");

}  // namespace inferline::engine
