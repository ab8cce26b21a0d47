#include "engine/ops/weight_matrix.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "engine/io/half.h"

namespace inferline::engine::ops {

Result<WeightDType> ParseWeightDType(std::string_view name) {
  if (name == "f32" || name == "float32") return WeightDType::kF32;
  if (name == "bf16" || name == "bfloat16") return WeightDType::kBF16;
  if (name == "f16" || name == "float16") return WeightDType::kF16;
  if (name == "int8") return WeightDType::kInt8;
  return InvalidArgument(
      fmt::format("unknown weight dtype '{}': expected f32, bf16, f16 or int8", name), "dtype");
}

std::string_view WeightDTypeName(WeightDType t) {
  switch (t) {
    case WeightDType::kF32:
      return "f32";
    case WeightDType::kBF16:
      return "bf16";
    case WeightDType::kF16:
      return "f16";
    case WeightDType::kInt8:
      return "int8";
  }
  return "?";
}

WeightMatrix::WeightMatrix(std::vector<float> data, int64_t rows, int64_t cols)
    : rows_(rows), cols_(cols), f32_(std::move(data)) {
  assert(static_cast<int64_t>(f32_.size()) == rows * cols);
}

size_t WeightMatrix::bytes() const {
  return f32_.size() * sizeof(float) + half_.size() * sizeof(uint16_t) + int8_.size() +
         scales_.size() * sizeof(float);
}

Status WeightMatrix::Convert(WeightDType to) {
  if (to == dtype_) return Status::Ok();
  if (dtype_ != WeightDType::kF32) {
    return FailedPrecondition(fmt::format("weights: cannot convert {} to {}",
                                          WeightDTypeName(dtype_), WeightDTypeName(to)));
  }
  const size_t n = f32_.size();
  if (to == WeightDType::kBF16 || to == WeightDType::kF16) {
    half_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      half_[i] = to == WeightDType::kBF16 ? FloatToBF16(f32_[i]) : FloatToHalf(f32_[i]);
    }
  } else {
    const int64_t groups = groups_per_row();
    int8_.resize(n);
    scales_.resize(static_cast<size_t>(rows_ * groups));
    for (int64_t r = 0; r < rows_; ++r) {
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t begin = r * cols_ + g * kInt8Group;
        const int64_t end = r * cols_ + std::min(cols_, (g + 1) * kInt8Group);
        float amax = 0.0f;
        for (int64_t i = begin; i < end; ++i) amax = std::max(amax, std::fabs(f32_[i]));
        const float scale = amax / 127.0f;
        const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        scales_[r * groups + g] = scale;
        for (int64_t i = begin; i < end; ++i) {
          int8_[i] = static_cast<int8_t>(std::clamp(std::nearbyint(f32_[i] * inv), -127.0f, 127.0f));
        }
      }
    }
  }
  dtype_ = to;
  f32_.clear();
  f32_.shrink_to_fit();
  return Status::Ok();
}

void WeightMatrix::RowToF32(int64_t j, std::span<float> out) const {
  assert(j >= 0 && j < rows_ && static_cast<int64_t>(out.size()) == cols_);
  const int64_t base = j * cols_;
  switch (dtype_) {
    case WeightDType::kF32:
      std::copy_n(f32_.data() + base, cols_, out.data());
      break;
    case WeightDType::kBF16:
      for (int64_t i = 0; i < cols_; ++i) out[i] = BF16ToFloat(half_[base + i]);
      break;
    case WeightDType::kF16:
      for (int64_t i = 0; i < cols_; ++i) out[i] = HalfToFloat(half_[base + i]);
      break;
    case WeightDType::kInt8: {
      const float* s = scales_.data() + j * groups_per_row();
      for (int64_t i = 0; i < cols_; ++i) out[i] = int8_[base + i] * s[i / kInt8Group];
      break;
    }
  }
}

}  // namespace inferline::engine::ops
