// Row-wise and element-wise f32 kernels: normalisations, activations, softmax, residual add.
//
// Shapes are given as [rows, dim] with row-major storage; every function processes all rows.
// The formulas match Hugging Face transformers: LayerNorm (biased variance, eps inside the
// square root), Llama's RMSNorm (x * rsqrt(mean(x^2) + eps) * weight), gelu_new (tanh
// approximation), exact gelu (erf), SiLU, and a max-subtracted softmax. gelu_new and the
// softmax's exp use the SIMD kernels of kernels.h (a polynomial exp good to about 1 ulp).
//
// Thread-safety: pure functions. They are memory-bound and cheap next to the matmuls, so they
// run on the calling thread.
#pragma once

#include <cstdint>
#include <span>

namespace inferline::engine::ops {

// out[r, :] = (x[r, :] - mean) / sqrt(var + eps) * gamma + beta. out may alias x.
void LayerNorm(std::span<const float> x, std::span<const float> gamma, std::span<const float> beta,
               float eps, int64_t dim, std::span<float> out);

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight. out may alias x.
void RmsNorm(std::span<const float> x, std::span<const float> weight, float eps, int64_t dim,
             std::span<float> out);

// In place: x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). HF "gelu_new".
void GeluTanh(std::span<float> x);
// In place: x = 0.5 x (1 + erf(x / sqrt(2))). HF "gelu".
void GeluErf(std::span<float> x);
// In place: x = x * sigmoid(x). HF "silu".
void Silu(std::span<float> x);

// Llama's gated MLP input: gate_up is [rows, 2 * dim] with the gate projection in the first
// half of each row and the up projection in the second; out[r, :] = silu(gate) * up.
void SwiGlu(std::span<const float> gate_up, int64_t dim, std::span<float> out);

// In place, each row of length dim: x = exp(x - max) / sum(exp(x - max)).
void Softmax(std::span<float> x, int64_t dim);

// In place: x += y.
void AddInPlace(std::span<float> x, std::span<const float> y);

}  // namespace inferline::engine::ops
