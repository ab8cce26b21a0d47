#include "engine/ops/weight_matrix.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "engine/io/half.h"
#include "engine/ops/kernels.h"

namespace inferline::engine::ops {

// The packed layout is the kernels' (kernels::GemmArgs).
static_assert(WeightMatrix::kPanel == kernels::kPanel);
static_assert(WeightMatrix::kInt8Group == kernels::kInt8Group);

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
    : rows_(rows), cols_(cols) {
  assert(static_cast<int64_t>(data.size()) == rows * cols);
  f32_.assign(static_cast<size_t>(panels() * kPanel * cols), 0.0f);
  for (int64_t j = 0; j < rows; ++j) {
    for (int64_t i = 0; i < cols; ++i) f32_[Index(j, i)] = data[j * cols + i];
  }
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
    int8_.assign(n, 0);
    scales_.assign(static_cast<size_t>(panels() * groups_per_row() * kPanel), 0.0f);
    for (int64_t j = 0; j < rows_; ++j) {
      for (int64_t begin = 0; begin < cols_; begin += kInt8Group) {
        const int64_t end = std::min(cols_, begin + kInt8Group);
        float amax = 0.0f;
        for (int64_t i = begin; i < end; ++i) amax = std::max(amax, std::fabs(f32_[Index(j, i)]));
        const float scale = amax / 127.0f;
        const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        scales_[ScaleIndex(j, begin)] = scale;
        for (int64_t i = begin; i < end; ++i) {
          const float q = std::clamp(std::nearbyint(f32_[Index(j, i)] * inv), -127.0f, 127.0f);
          int8_[Index(j, i)] = static_cast<int8_t>(q);
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
  switch (dtype_) {
    case WeightDType::kF32:
      for (int64_t i = 0; i < cols_; ++i) out[i] = f32_[Index(j, i)];
      break;
    case WeightDType::kBF16:
      for (int64_t i = 0; i < cols_; ++i) out[i] = BF16ToFloat(half_[Index(j, i)]);
      break;
    case WeightDType::kF16:
      for (int64_t i = 0; i < cols_; ++i) out[i] = HalfToFloat(half_[Index(j, i)]);
      break;
    case WeightDType::kInt8:
      for (int64_t i = 0; i < cols_; ++i) {
        out[i] = int8_[Index(j, i)] * scales_[ScaleIndex(j, i)];
      }
      break;
  }
}

}  // namespace inferline::engine::ops
