// Rotary position embeddings (RoPE) as Hugging Face's Llama applies them.
//
// The "rotate_half" convention: within each head of size d, element i is paired with element
// i + d/2 (not with i + 1 as in the original paper's interleaved layout), and pair i turns by
// angle pos * inv_freq[i], inv_freq[i] = theta^(-2i/d). Scaling variants adjust inv_freq:
// "linear" divides it by `factor`; "llama3" divides only the low frequencies and blends the
// band in between (HF's _compute_llama3_parameters).
//
// The arithmetic follows HF's float32 order of operations (inv_freq in f32, angle = f32(pos *
// inv_freq)) so that the tables agree with the reference to the last bit or two. cos/sin are
// precomputed for the first kMaxTablePositions positions; later positions are computed on the
// fly with the same formula, so a 128k-context model does not pay for a 64 MiB table up front.
//
// Thread-safety: immutable after construction; Apply may run on many threads at once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace inferline::engine::ops {

struct RopeParams {
  int head_dim = 0;
  float theta = 10000.0f;
  std::string scaling_type;  // "", "default", "linear" or "llama3"
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_positions = 8192;
};

class RopeTable {
 public:
  static constexpr int64_t kMaxTablePositions = 8192;
  static constexpr int kMaxHeadDim = 1024;

  // Fails on an odd head_dim or one over kMaxHeadDim, a non-positive theta or factor, or an unknown
  // scaling type.
  [[nodiscard]] static Result<RopeTable> Create(const RopeParams& params, int64_t max_positions);

  int head_dim() const { return head_dim_; }
  // The (possibly scaled) inverse frequencies, head_dim / 2 of them.
  std::span<const float> inv_freq() const { return inv_freq_; }

  // Rotates `num_heads` consecutive heads of one token at position `pos` in place:
  // x is [num_heads, head_dim].
  void Apply(std::span<float> x, int num_heads, int64_t pos) const;

 private:
  RopeTable() = default;
  void CosSin(int64_t pos, float* cos, float* sin) const;

  int head_dim_ = 0;
  std::vector<float> inv_freq_;  // [head_dim / 2]
  int64_t table_positions_ = 0;
  std::vector<float> cos_;  // [table_positions_, head_dim / 2]
  std::vector<float> sin_;  // [table_positions_, head_dim / 2]
};

}  // namespace inferline::engine::ops
