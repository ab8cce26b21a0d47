// Naive reference versions of the ops, for tests only.
//
// Each one is the formula written out in the most direct way, in double precision, with no
// blocking, threading or tables, so that the fast kernels can be checked against it on random
// inputs. Shapes and conventions are those of the fast versions (see their headers).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/ops/rope.h"

namespace inferline::engine::ops::reference {

std::vector<float> MatMul(std::span<const float> x, std::span<const float> w,
                          std::span<const float> bias, int64_t m, int64_t n, int64_t k);

std::vector<float> LayerNorm(std::span<const float> x, std::span<const float> gamma,
                             std::span<const float> beta, float eps, int64_t dim);
std::vector<float> RmsNorm(std::span<const float> x, std::span<const float> weight, float eps,
                           int64_t dim);
std::vector<float> GeluTanh(std::span<const float> x);
std::vector<float> GeluErf(std::span<const float> x);
std::vector<float> Silu(std::span<const float> x);
std::vector<float> Softmax(std::span<const float> x, int64_t dim);

// Inverse frequencies straight from the RoPE papers / HF formulas, in double.
std::vector<double> RopeInvFreq(const RopeParams& p);
// Rotates x = [num_heads, head_dim] for position pos (rotate_half pairing).
std::vector<float> Rope(std::span<const float> x, int num_heads, int64_t pos, const RopeParams& p);

// Causal attention of n_new queries (positions start..start+n_new-1) over token-major keys
// and values [start + n_new, num_kv_heads * head_dim]. q is [n_new, num_heads * head_dim];
// returns [n_new, num_heads * head_dim].
std::vector<float> Attention(std::span<const float> q, std::span<const float> keys,
                             std::span<const float> values, int64_t start, int64_t n_new,
                             int num_heads, int num_kv_heads, int head_dim, float scale);

}  // namespace inferline::engine::ops::reference
