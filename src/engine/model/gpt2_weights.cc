// GPT-2: Hugging Face GPT2LMHeadModel tensor names and layouts -> ModelWeights.
#include <fmt/format.h>

#include "engine/model/weights.h"

namespace inferline::engine {

using weights_internal::AsMatrix;
using weights_internal::Read;
using weights_internal::ReadTransposed;

Result<ModelWeights> LoadGpt2Weights(const WeightFile& file, const ModelConfig& c) {
  // Files saved from GPT2LMHeadModel carry a "transformer." prefix; the original hub files
  // (saved from GPT2Model) do not.
  std::string p;
  if (file.Has("transformer.wte.weight")) {
    p = "transformer.";
  } else if (!file.Has("wte.weight")) {
    return NotFound(
        "GPT-2 weights: no token embedding 'transformer.wte.weight' (or "
        "'wte.weight') in the weight file");
  }
  const int64_t d = c.hidden_size, ff = c.intermediate_size, v = c.vocab_size;
  ModelWeights w;
  ASSIGN_OR_RETURN(w.token_embedding, AsMatrix(Read(file, p + "wte.weight", {v, d}), v, d));
  ASSIGN_OR_RETURN(w.position_embedding, Read(file, p + "wpe.weight", {c.max_positions, d}));
  w.layers.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string h = fmt::format("{}h.{}.", p, i);
    LayerWeights& l = w.layers[i];
    ASSIGN_OR_RETURN(l.attn_norm_w, Read(file, h + "ln_1.weight", {d}));
    ASSIGN_OR_RETURN(l.attn_norm_b, Read(file, h + "ln_1.bias", {d}));
    // Conv1D stores [in, out]; the q, k, v blocks are consecutive output columns, so the
    // transpose is already our stacked [3d, d] layout.
    ASSIGN_OR_RETURN(l.qkv_w,
                     AsMatrix(ReadTransposed(file, h + "attn.c_attn.weight", d, 3 * d), 3 * d, d));
    ASSIGN_OR_RETURN(l.qkv_b, Read(file, h + "attn.c_attn.bias", {3 * d}));
    ASSIGN_OR_RETURN(l.o_w, AsMatrix(ReadTransposed(file, h + "attn.c_proj.weight", d, d), d, d));
    ASSIGN_OR_RETURN(l.o_b, Read(file, h + "attn.c_proj.bias", {d}));
    ASSIGN_OR_RETURN(l.mlp_norm_w, Read(file, h + "ln_2.weight", {d}));
    ASSIGN_OR_RETURN(l.mlp_norm_b, Read(file, h + "ln_2.bias", {d}));
    ASSIGN_OR_RETURN(l.up_w, AsMatrix(ReadTransposed(file, h + "mlp.c_fc.weight", d, ff), ff, d));
    ASSIGN_OR_RETURN(l.up_b, Read(file, h + "mlp.c_fc.bias", {ff}));
    ASSIGN_OR_RETURN(l.down_w,
                     AsMatrix(ReadTransposed(file, h + "mlp.c_proj.weight", ff, d), d, ff));
    ASSIGN_OR_RETURN(l.down_b, Read(file, h + "mlp.c_proj.bias", {d}));
  }
  ASSIGN_OR_RETURN(w.final_norm_w, Read(file, p + "ln_f.weight", {d}));
  ASSIGN_OR_RETURN(w.final_norm_b, Read(file, p + "ln_f.bias", {d}));
  if (!c.tie_word_embeddings) {
    // GPT2LMHeadModel always ties in practice; honour an untied head if a file has one.
    if (!file.Has("lm_head.weight")) {
      return NotFound(
          "GPT-2 weights: tie_word_embeddings is false but 'lm_head.weight' is "
          "missing");
    }
    ASSIGN_OR_RETURN(w.lm_head, AsMatrix(Read(file, "lm_head.weight", {v, d}), v, d));
  }
  return w;
}

}  // namespace inferline::engine
