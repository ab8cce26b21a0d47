#include "engine/ops/rope.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace inferline::engine::ops {
namespace {

// HF: inv_freq = 1 / base ** (arange(0, dim, 2).float() / dim), all in float32.
std::vector<float> BaseInvFreq(int head_dim, float theta) {
  std::vector<float> inv(head_dim / 2);
  for (int i = 0; i < head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv[i] = 1.0f / std::pow(theta, exponent);
  }
  return inv;
}

// HF's _compute_llama3_parameters: leave high frequencies alone, divide low frequencies by
// factor, and interpolate smoothly between the two wavelength bands.
void ApplyLlama3Scaling(const RopeParams& p, std::vector<float>& inv) {
  const float old_len = static_cast<float>(p.original_max_positions);
  const float low_freq_wavelen = old_len / p.low_freq_factor;
  const float high_freq_wavelen = old_len / p.high_freq_factor;
  for (float& f : inv) {
    const float wavelen = 2.0f * std::numbers::pi_v<float> / f;
    float scaled = wavelen > low_freq_wavelen ? f / p.factor : f;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    if (medium) {
      const float smooth =
          (old_len / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
      scaled = (1.0f - smooth) * scaled / p.factor + smooth * scaled;
    }
    f = scaled;
  }
}

}  // namespace

Result<RopeTable> RopeTable::Create(const RopeParams& p, int64_t max_positions) {
  if (p.head_dim <= 0 || p.head_dim % 2 != 0 || p.head_dim > kMaxHeadDim) {
    return InvalidArgument(
        fmt::format("rope: head_dim must be even and in [2, {}], got {}", kMaxHeadDim, p.head_dim));
  }
  if (!(p.theta > 0.0f)) return InvalidArgument("rope: rope_theta must be positive");
  RopeTable t;
  t.head_dim_ = p.head_dim;
  t.inv_freq_ = BaseInvFreq(p.head_dim, p.theta);
  if (p.scaling_type.empty() || p.scaling_type == "default") {
    // unscaled
  } else if (p.scaling_type == "linear") {
    if (!(p.factor > 0.0f)) return InvalidArgument("rope_scaling: factor must be positive");
    for (float& f : t.inv_freq_) f /= p.factor;
  } else if (p.scaling_type == "llama3") {
    if (!(p.factor > 0.0f) || !(p.low_freq_factor > 0.0f) ||
        !(p.high_freq_factor > p.low_freq_factor) || p.original_max_positions <= 0) {
      return InvalidArgument(
          "rope_scaling (llama3): need factor > 0, high_freq_factor > low_freq_factor > 0 and "
          "original_max_position_embeddings > 0");
    }
    ApplyLlama3Scaling(p, t.inv_freq_);
  } else {
    return InvalidArgument(
        fmt::format("rope_scaling type '{}' is not supported "
                    "(supported: linear, llama3)",
                    p.scaling_type));
  }
  const int half = p.head_dim / 2;
  t.table_positions_ = std::clamp<int64_t>(max_positions, 0, kMaxTablePositions);
  t.cos_.resize(t.table_positions_ * half);
  t.sin_.resize(t.table_positions_ * half);
  for (int64_t pos = 0; pos < t.table_positions_; ++pos) {
    t.CosSin(pos, &t.cos_[pos * half], &t.sin_[pos * half]);
  }
  return t;
}

void RopeTable::CosSin(int64_t pos, float* cos, float* sin) const {
  const float fpos = static_cast<float>(pos);
  for (int i = 0; i < head_dim_ / 2; ++i) {
    const float angle = fpos * inv_freq_[i];
    cos[i] = std::cos(angle);
    sin[i] = std::sin(angle);
  }
}

void RopeTable::Apply(std::span<float> x, int num_heads, int64_t pos) const {
  assert(static_cast<int64_t>(x.size()) == static_cast<int64_t>(num_heads) * head_dim_);
  assert(pos >= 0);
  const int half = head_dim_ / 2;
  const float* cos;
  const float* sin;
  // Beyond the table: compute this position's row on the stack.
  float cos_buf[kMaxHeadDim / 2];
  float sin_buf[kMaxHeadDim / 2];
  if (pos < table_positions_) {
    cos = &cos_[pos * half];
    sin = &sin_[pos * half];
  } else {
    CosSin(pos, cos_buf, sin_buf);
    cos = cos_buf;
    sin = sin_buf;
  }
  for (int h = 0; h < num_heads; ++h) {
    float* v = x.data() + static_cast<int64_t>(h) * head_dim_;
    for (int i = 0; i < half; ++i) {
      const float a = v[i];
      const float b = v[i + half];
      v[i] = a * cos[i] - b * sin[i];
      v[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

}  // namespace inferline::engine::ops
