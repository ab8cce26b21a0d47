// Llama: Hugging Face LlamaForCausalLM tensor names and layouts -> ModelWeights.
#include <fmt/format.h>

#include <algorithm>

#include "engine/model/weights.h"

namespace inferline::engine {
namespace {

using weights_internal::AsMatrix;
using weights_internal::Read;
using weights_internal::ReadInto;

using Parts = std::initializer_list<std::pair<std::string, int64_t>>;

// Reads the listed [rows_i, cols] tensors into one [sum rows_i, cols] matrix; cols == 0 reads
// 1-D tensors [rows_i] into one vector.
Result<std::vector<float>> ReadStacked(const WeightFile& file, Parts parts, int64_t cols) {
  const int64_t width = std::max<int64_t>(cols, 1);
  int64_t rows = 0;
  for (const auto& part : parts) rows += part.second;
  std::vector<float> out(rows * width);
  int64_t row = 0;
  for (const auto& [name, n] : parts) {
    std::vector<int64_t> shape = {n};
    if (cols > 0) shape.push_back(cols);
    RETURN_IF_ERROR(ReadInto(file, name, shape, std::span(out).subspan(row * width, n * width)));
    row += n;
  }
  return out;
}

// Biases are optional in the Llama family (attention_bias / mlp_bias): all of them or none.
Result<std::vector<float>> ReadOptionalStackedBias(const WeightFile& file, Parts parts) {
  int present = 0;
  for (const auto& part : parts) present += file.Has(part.first) ? 1 : 0;
  if (present == 0) return std::vector<float>{};
  if (present != static_cast<int>(parts.size())) {
    return InvalidArgument(
        fmt::format("Llama weights: '{}' and its sibling biases must be "
                    "present together",
                    parts.begin()->first));
  }
  return ReadStacked(file, parts, 0);
}

}  // namespace

Result<ModelWeights> LoadLlamaWeights(const WeightFile& file, const ModelConfig& c) {
  const int64_t d = c.hidden_size, ff = c.intermediate_size, v = c.vocab_size;
  const int64_t q_dim = static_cast<int64_t>(c.num_heads) * c.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
  ModelWeights w;
  ASSIGN_OR_RETURN(w.token_embedding,
                   AsMatrix(Read(file, "model.embed_tokens.weight", {v, d}), v, d));
  w.layers.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string h = fmt::format("model.layers.{}.", i);
    LayerWeights& l = w.layers[i];
    ASSIGN_OR_RETURN(l.attn_norm_w, Read(file, h + "input_layernorm.weight", {d}));
    ASSIGN_OR_RETURN(l.qkv_w, AsMatrix(ReadStacked(file,
                                                   {{h + "self_attn.q_proj.weight", q_dim},
                                                    {h + "self_attn.k_proj.weight", kv_dim},
                                                    {h + "self_attn.v_proj.weight", kv_dim}},
                                                   d),
                                       q_dim + 2 * kv_dim, d));
    ASSIGN_OR_RETURN(l.qkv_b,
                     ReadOptionalStackedBias(file, {{h + "self_attn.q_proj.bias", q_dim},
                                                    {h + "self_attn.k_proj.bias", kv_dim},
                                                    {h + "self_attn.v_proj.bias", kv_dim}}));
    ASSIGN_OR_RETURN(l.o_w,
                     AsMatrix(Read(file, h + "self_attn.o_proj.weight", {d, q_dim}), d, q_dim));
    ASSIGN_OR_RETURN(l.o_b, ReadOptionalStackedBias(file, {{h + "self_attn.o_proj.bias", d}}));
    ASSIGN_OR_RETURN(l.mlp_norm_w, Read(file, h + "post_attention_layernorm.weight", {d}));
    ASSIGN_OR_RETURN(
        l.up_w,
        AsMatrix(ReadStacked(file, {{h + "mlp.gate_proj.weight", ff}, {h + "mlp.up_proj.weight", ff}},
                             d),
                 2 * ff, d));
    ASSIGN_OR_RETURN(l.up_b, ReadOptionalStackedBias(file, {{h + "mlp.gate_proj.bias", ff},
                                                            {h + "mlp.up_proj.bias", ff}}));
    ASSIGN_OR_RETURN(l.down_w, AsMatrix(Read(file, h + "mlp.down_proj.weight", {d, ff}), d, ff));
    ASSIGN_OR_RETURN(l.down_b, ReadOptionalStackedBias(file, {{h + "mlp.down_proj.bias", d}}));
  }
  ASSIGN_OR_RETURN(w.final_norm_w, Read(file, "model.norm.weight", {d}));
  if (!c.tie_word_embeddings) {
    if (!file.Has("lm_head.weight")) {
      return NotFound(
          "Llama weights: tie_word_embeddings is false but 'lm_head.weight' is "
          "missing");
    }
    ASSIGN_OR_RETURN(w.lm_head, AsMatrix(Read(file, "lm_head.weight", {v, d}), v, d));
  }
  return w;
}

}  // namespace inferline::engine
