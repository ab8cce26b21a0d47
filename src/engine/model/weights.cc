#include "engine/model/weights.h"

namespace inferline::engine {

size_t ModelWeights::bytes() const {
  size_t n = token_embedding.size() + position_embedding.size() + final_norm_w.size() +
             final_norm_b.size() + lm_head.size();
  for (const LayerWeights& l : layers) {
    for (const auto* v : {&l.attn_norm_w, &l.attn_norm_b, &l.qkv_w, &l.qkv_b, &l.o_w, &l.o_b,
                          &l.mlp_norm_w, &l.mlp_norm_b, &l.up_w, &l.up_b, &l.down_w, &l.down_b}) {
      n += v->size();
    }
  }
  return n * sizeof(float);
}

namespace weights_internal {

Status ReadInto(const WeightFile& file, std::string_view name, std::vector<int64_t> shape,
                std::span<float> out) {
  ASSIGN_OR_RETURN(TensorView t, file.Get(name, shape));
  if (static_cast<size_t>(t.numel()) != out.size()) {
    return Internal("weights: destination size does not match tensor " + std::string(name));
  }
  ConvertToF32(t, out);
  return Status::Ok();
}

Result<std::vector<float>> Read(const WeightFile& file, std::string_view name,
                                std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> out(n);
  RETURN_IF_ERROR(ReadInto(file, name, std::move(shape), out));
  return out;
}

Result<std::vector<float>> ReadTransposed(const WeightFile& file, std::string_view name,
                                          int64_t rows, int64_t cols) {
  ASSIGN_OR_RETURN(std::vector<float> src, Read(file, name, {rows, cols}));
  std::vector<float> out(src.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = src[r * cols + c];
  }
  return out;
}

}  // namespace weights_internal
}  // namespace inferline::engine
