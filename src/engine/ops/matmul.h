// Dense f32 matrix products for the model's linear layers.
//
//   y[m, n] = x[m, k] · w[n, k]^T (+ bias[n])
//
// w is [n, k], the nn.Linear layout (GPT-2's Conv1D weights are transposed into it at load),
// held by WeightMatrix in panels of 16 output features interleaved along k (kernels.h). m is
// the number of tokens in the batch (1 per sequence when decoding, many when prefilling), and
// the kernel reuses every weight it loads for a tile of up to 8 tokens (AVX-512), which is what
// makes batching several sequences into one step cheaper than running them one by one.
//
// The weights may be f32, bf16, f16 or int8 with group scales (WeightMatrix); they are widened
// to f32 in registers, and x and y are always f32. The kernels come from the runtime-dispatched
// table (kernels.h: AVX-512, AVX2+FMA or portable), and every output element is computed the
// same way whatever m is, so batching never changes a result.
//
// Thread-safety: pure functions; the work is split over output features (rows of w) on `pool`.
#pragma once

#include <cstdint>
#include <span>

#include "engine/ops/kernels.h"
#include "engine/ops/weight_matrix.h"

namespace inferline::engine {
class ThreadPool;
}

namespace inferline::engine::ops {

struct MatMulDims {
  int64_t m = 0;  // rows of x and y (tokens)
  int64_t n = 0;  // rows of w, columns of y (output features)
  int64_t k = 0;  // columns of x and w (input features)
};

// bias may be empty (no bias) or of size n. pool may be null (single-threaded).
// Spans must hold exactly m*k, n*k and m*n floats; y must not alias x or w. w is row-major
// [n, k] and packed into a WeightMatrix for the call (tests; the model keeps WeightMatrix).
void MatMul(std::span<const float> x, std::span<const float> w, std::span<const float> bias,
            std::span<float> y, MatMulDims dims, ThreadPool* pool);

// As above with w in any WeightMatrix precision; dims.n == w.rows(), dims.k == w.cols().
void MatMul(std::span<const float> x, const WeightMatrix& w, std::span<const float> bias,
            std::span<float> y, MatMulDims dims, ThreadPool* pool);

// As above with an explicit kernel table instead of the active one (tests, benchmarks).
void MatMul(std::span<const float> x, const WeightMatrix& w, std::span<const float> bias,
            std::span<float> y, MatMulDims dims, ThreadPool* pool,
            const kernels::KernelTable& table);

}  // namespace inferline::engine::ops
