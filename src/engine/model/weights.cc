#include "engine/model/weights.h"

namespace inferline::engine {

size_t ModelWeights::bytes() const {
  size_t n = (position_embedding.size() + final_norm_w.size() + final_norm_b.size()) *
             sizeof(float);
  n += token_embedding.bytes() + lm_head.bytes();
  for (const LayerWeights& l : layers) {
    for (const auto* v : {&l.attn_norm_w, &l.attn_norm_b, &l.qkv_b, &l.o_b, &l.mlp_norm_w,
                          &l.mlp_norm_b, &l.up_b, &l.down_b}) {
      n += v->size() * sizeof(float);
    }
    n += l.qkv_w.bytes() + l.o_w.bytes() + l.up_w.bytes() + l.down_w.bytes();
  }
  return n;
}

size_t ModelWeights::decode_bytes() const {
  size_t n = LmHead().bytes();
  for (const LayerWeights& l : layers) {
    n += l.qkv_w.bytes() + l.o_w.bytes() + l.up_w.bytes() + l.down_w.bytes();
  }
  return n;
}

Status ModelWeights::ConvertMatrices(ops::WeightDType dtype) {
  RETURN_IF_ERROR(token_embedding.Convert(dtype));
  if (!lm_head.empty()) RETURN_IF_ERROR(lm_head.Convert(dtype));
  for (LayerWeights& l : layers) {
    for (ops::WeightMatrix* m : {&l.qkv_w, &l.o_w, &l.up_w, &l.down_w}) {
      RETURN_IF_ERROR(m->Convert(dtype));
    }
  }
  return Status::Ok();
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

Result<ops::WeightMatrix> AsMatrix(Result<std::vector<float>> data, int64_t rows, int64_t cols) {
  if (!data.ok()) return data.status();
  if (static_cast<int64_t>(data->size()) != rows * cols) {
    return Internal("weights: matrix size does not match its shape");
  }
  return ops::WeightMatrix(std::move(data).value(), rows, cols);
}

}  // namespace weights_internal
}  // namespace inferline::engine
