#include "engine/ops/elementwise.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "engine/ops/kernels.h"

namespace inferline::engine::ops {

void LayerNorm(std::span<const float> x, std::span<const float> gamma, std::span<const float> beta,
               float eps, int64_t dim, std::span<float> out) {
  assert(dim > 0 && x.size() % dim == 0 && out.size() == x.size());
  assert(static_cast<int64_t>(gamma.size()) == dim && static_cast<int64_t>(beta.size()) == dim);
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + r * dim;
    float* yr = out.data() + r * dim;
    // Two passes in double: the statistics are cheap and the extra precision keeps large
    // activations (GPT-2's residual stream reaches the thousands) from losing digits.
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum += xr[i];
    const double mean = sum / static_cast<double>(dim);
    double sq = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      const double c = xr[i] - mean;
      sq += c * c;
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(dim) + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] - m) * inv * gamma[i] + beta[i];
  }
}

void RmsNorm(std::span<const float> x, std::span<const float> weight, float eps, int64_t dim,
             std::span<float> out) {
  assert(dim > 0 && x.size() % dim == 0 && out.size() == x.size());
  assert(static_cast<int64_t>(weight.size()) == dim);
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + r * dim;
    float* yr = out.data() + r * dim;
    double sq = 0.0;
    for (int64_t i = 0; i < dim; ++i) sq += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(dim) + eps));
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * weight[i];
  }
}

void GeluTanh(std::span<float> x) {
  kernels::Active().gelu_tanh(x.data(), static_cast<int64_t>(x.size()));
}

void GeluErf(std::span<float> x) {
  constexpr float kInvSqrt2 = 0.7071067811865476f;
  for (float& v : x) v = 0.5f * v * (1.0f + std::erf(v * kInvSqrt2));
}

void Silu(std::span<float> x) {
  for (float& v : x) v = v / (1.0f + std::exp(-v));
}

void SwiGlu(std::span<const float> gate_up, int64_t dim, std::span<float> out) {
  assert(dim > 0 && gate_up.size() % (2 * dim) == 0);
  const int64_t rows = static_cast<int64_t>(gate_up.size()) / (2 * dim);
  assert(static_cast<int64_t>(out.size()) == rows * dim);
  for (int64_t r = 0; r < rows; ++r) {
    const float* gate = gate_up.data() + r * 2 * dim;
    const float* up = gate + dim;
    float* yr = out.data() + r * dim;
    for (int64_t i = 0; i < dim; ++i) {
      const float g = gate[i];
      yr[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
  }
}

void Softmax(std::span<float> x, int64_t dim) {
  assert(dim > 0 && x.size() % dim == 0);
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x.data() + r * dim;
    const float mx = *std::max_element(xr, xr + dim);
    if (std::isinf(mx) && mx < 0) {
      // Every entry masked: define the row as uniform rather than NaN.
      std::fill(xr, xr + dim, 1.0f / static_cast<float>(dim));
      continue;
    }
    const float sum = kernels::Active().exp_sub_sum(xr, dim, mx);
    const float inv = 1.0f / sum;
    for (int64_t i = 0; i < dim; ++i) xr[i] *= inv;
  }
}

void AddInPlace(std::span<float> x, std::span<const float> y) {
  assert(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

}  // namespace inferline::engine::ops
