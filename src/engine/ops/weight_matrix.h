// A weight matrix [rows, cols] (nn.Linear layout: one row per output feature) stored in the
// precision chosen at load: f32, bf16 or f16 (16 bits in memory, widened to f32 on the fly by
// the kernels), or int8 with one f32 scale per group of kInt8Group consecutive values of a row
// (symmetric: value = q * scale, scale = max|w| / 127 over the group).
//
// Decoding one token reads every weight once, so the bytes per weight set the speed limit of
// memory-bound decoding: 4 (f32), 2 (bf16/f16) or 1 + 4/kInt8Group (int8).
//
// The values are stored in the kernels' packed panels (kernels::GemmArgs): kPanel rows at a
// time, interleaved so that one column of a panel is contiguous, the last panel padded with
// zero rows. Index() and ScaleIndex() give where an element lives.
//
// Thread-safety: immutable after construction/Convert; any number of readers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::engine::ops {

enum class WeightDType { kF32, kBF16, kF16, kInt8 };

// "f32" | "float32", "bf16" | "bfloat16", "f16" | "float16", "int8" (InvalidArgument otherwise).
[[nodiscard]] Result<WeightDType> ParseWeightDType(std::string_view name);
std::string_view WeightDTypeName(WeightDType t);

class WeightMatrix {
 public:
  static constexpr int64_t kInt8Group = 64;
  static constexpr int64_t kPanel = 16;  // == kernels::kPanel

  WeightMatrix() = default;
  // Takes f32 data of rows * cols values, row-major (one row per output feature), and packs it.
  WeightMatrix(std::vector<float> data, int64_t rows, int64_t cols);

  // Re-encodes the matrix in `to` (from f32 only; converting to the current type is a no-op).
  // The f32 copy is released.
  [[nodiscard]] Status Convert(WeightDType to);

  WeightDType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  bool empty() const { return rows_ == 0; }
  // Bytes of the stored values and scales.
  size_t bytes() const;

  // Row j widened to f32 (embedding lookups). out.size() == cols().
  void RowToF32(int64_t j, std::span<float> out) const;

  // Raw packed storage for the kernels; only the one matching dtype() is non-empty.
  const float* f32() const { return f32_.data(); }
  const uint16_t* half() const { return half_.data(); }  // bf16 or f16 bits
  const int8_t* int8() const { return int8_.data(); }
  const float* scales() const { return scales_.data(); }  // int8, packed like the values
  int64_t groups_per_row() const { return (cols_ + kInt8Group - 1) / kInt8Group; }
  int64_t panels() const { return (rows_ + kPanel - 1) / kPanel; }

  // Position of value (row j, column i) in the packed storage, and of the int8 scale of row j
  // for column i.
  int64_t Index(int64_t j, int64_t i) const {
    return ((j / kPanel) * cols_ + i) * kPanel + j % kPanel;
  }
  int64_t ScaleIndex(int64_t j, int64_t i) const {
    return ((j / kPanel) * groups_per_row() + i / kInt8Group) * kPanel + j % kPanel;
  }

 private:
  WeightDType dtype_ = WeightDType::kF32;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<float> f32_;
  std::vector<uint16_t> half_;
  std::vector<int8_t> int8_;
  std::vector<float> scales_;
};

}  // namespace inferline::engine::ops
