// The model's parameters in the engine's own layout, independent of the architecture's file
// naming, kept apart from any per-sequence state (KV caches, activations).
//
// Both architectures map onto one transformer block shape:
//   norm -> fused QKV projection -> attention -> output projection -> residual
//   norm -> up projection (GPT-2 c_fc, or Llama gate and up stacked) -> activation -> down
//   projection -> residual
// Every matrix is row-major [out_features, in_features] (nn.Linear layout) in f32. GPT-2's
// Conv1D tensors ([in, out]) are transposed while loading; Llama's q/k/v and gate/up tensors are
// stacked into one matrix each so that a step runs one matmul instead of three (or two).
// Optional tensors (biases, LayerNorm beta, position embeddings) are empty when absent.
//
// f16/bf16 files are converted to f32 at load. The performance work keeps bf16/int8 copies
// here instead, next to matching kernels in engine/ops.
//
// Thread-safety: immutable after loading; shared by every forward pass.
#pragma once

#include <span>
#include <vector>

#include "common/status.h"
#include "engine/io/model_config.h"
#include "engine/io/safetensors.h"

namespace inferline::engine {

struct LayerWeights {
  std::vector<float> attn_norm_w;  // [d]
  std::vector<float> attn_norm_b;  // [d] LayerNorm only
  std::vector<float> qkv_w;        // [(H + 2 KV) * hd, d]: rows of q, then k, then v
  std::vector<float> qkv_b;        // [(H + 2 KV) * hd] or empty
  std::vector<float> o_w;          // [d, H * hd]
  std::vector<float> o_b;          // [d] or empty
  std::vector<float> mlp_norm_w;   // [d]
  std::vector<float> mlp_norm_b;   // [d] LayerNorm only
  std::vector<float> up_w;         // GPT-2 [ff, d]; Llama [2 * ff, d], gate rows then up rows
  std::vector<float> up_b;         // [ff] / [2 * ff] or empty
  std::vector<float> down_w;       // [d, ff]
  std::vector<float> down_b;       // [d] or empty
};

struct ModelWeights {
  std::vector<float> token_embedding;     // [V, d]
  std::vector<float> position_embedding;  // [max_positions, d] GPT-2 only
  std::vector<LayerWeights> layers;       // [num_layers]
  std::vector<float> final_norm_w;        // [d]
  std::vector<float> final_norm_b;        // [d] LayerNorm only
  std::vector<float> lm_head;             // [V, d]; empty when tied to token_embedding

  std::span<const float> LmHead() const { return lm_head.empty() ? token_embedding : lm_head; }
  size_t bytes() const;
};

// Hugging Face GPT2LMHeadModel tensors ("transformer." prefix optional, as in the hub files).
[[nodiscard]] Result<ModelWeights> LoadGpt2Weights(const WeightFile& file,
                                                   const ModelConfig& config);
// Hugging Face LlamaForCausalLM tensors.
[[nodiscard]] Result<ModelWeights> LoadLlamaWeights(const WeightFile& file,
                                                    const ModelConfig& config);

namespace weights_internal {

// Copies tensor `name` of exactly `shape` into `out` (numel floats) as f32.
[[nodiscard]] Status ReadInto(const WeightFile& file, std::string_view name,
                              std::vector<int64_t> shape, std::span<float> out);
// As ReadInto into a new vector.
[[nodiscard]] Result<std::vector<float>> Read(const WeightFile& file, std::string_view name,
                                              std::vector<int64_t> shape);
// Reads a [rows, cols] tensor and returns it transposed, [cols, rows].
[[nodiscard]] Result<std::vector<float>> ReadTransposed(const WeightFile& file,
                                                        std::string_view name, int64_t rows,
                                                        int64_t cols);

}  // namespace weights_internal
}  // namespace inferline::engine
