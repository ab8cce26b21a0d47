// The model's parameters in the engine's own layout, independent of the architecture's file
// naming, kept apart from any per-sequence state (KV caches, activations).
//
// Both architectures map onto one transformer block shape:
//   norm -> fused QKV projection -> attention -> output projection -> residual
//   norm -> up projection (GPT-2 c_fc, or Llama gate and up stacked) -> activation -> down
//   projection -> residual
// Every matrix is row-major [out_features, in_features] (nn.Linear layout). GPT-2's Conv1D
// tensors ([in, out]) are transposed while loading; Llama's q/k/v and gate/up tensors are
// stacked into one matrix each so that a step runs one matmul instead of three (or two).
// Optional tensors (biases, LayerNorm beta, position embeddings) are empty when absent.
//
// Files are read as f32 (whatever their dtype); ConvertMatrices then re-encodes the matrices
// (ops::WeightMatrix: the projections, the token embedding and the LM head) in the precision
// chosen at load (f32, bf16, f16 or int8 with group scales). Vectors (norms, biases, position
// embeddings) stay f32.
//
// Thread-safety: immutable after loading; shared by every forward pass.
#pragma once

#include <span>
#include <vector>

#include "common/status.h"
#include "engine/io/model_config.h"
#include "engine/io/safetensors.h"
#include "engine/ops/weight_matrix.h"

namespace inferline::engine {

struct LayerWeights {
  std::vector<float> attn_norm_w;  // [d]
  std::vector<float> attn_norm_b;  // [d] LayerNorm only
  ops::WeightMatrix qkv_w;         // [(H + 2 KV) * hd, d]: rows of q, then k, then v
  std::vector<float> qkv_b;        // [(H + 2 KV) * hd] or empty
  ops::WeightMatrix o_w;           // [d, H * hd]
  std::vector<float> o_b;          // [d] or empty
  std::vector<float> mlp_norm_w;   // [d]
  std::vector<float> mlp_norm_b;   // [d] LayerNorm only
  ops::WeightMatrix up_w;          // GPT-2 [ff, d]; Llama [2 * ff, d], gate rows then up rows
  std::vector<float> up_b;         // [ff] / [2 * ff] or empty
  ops::WeightMatrix down_w;        // [d, ff]
  std::vector<float> down_b;       // [d] or empty
};

struct ModelWeights {
  ops::WeightMatrix token_embedding;      // [V, d]
  std::vector<float> position_embedding;  // [max_positions, d] GPT-2 only
  std::vector<LayerWeights> layers;       // [num_layers]
  std::vector<float> final_norm_w;        // [d]
  std::vector<float> final_norm_b;        // [d] LayerNorm only
  ops::WeightMatrix lm_head;              // [V, d]; empty when tied to token_embedding

  const ops::WeightMatrix& LmHead() const {
    return lm_head.empty() ? token_embedding : lm_head;
  }
  // Bytes held, all tensors.
  size_t bytes() const;
  // Bytes a decode step reads: every matrix once (the token embedding only when it is the LM
  // head), vectors and one embedding row aside.
  size_t decode_bytes() const;
  // Re-encodes every matrix in `dtype` (from f32).
  [[nodiscard]] Status ConvertMatrices(ops::WeightDType dtype);
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
// Wraps f32 data just read as a [rows, cols] matrix.
[[nodiscard]] Result<ops::WeightMatrix> AsMatrix(Result<std::vector<float>> data, int64_t rows,
                                                 int64_t cols);

}  // namespace weights_internal
}  // namespace inferline::engine
