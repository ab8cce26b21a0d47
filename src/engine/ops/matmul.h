// Dense f32 matrix products for the model's linear layers.
//
//   y[m, n] = x[m, k] · w[n, k]^T (+ bias[n])
//
// w is row-major [n, k], the nn.Linear layout, so each output feature reads one contiguous
// weight row; GPT-2's Conv1D weights are transposed into this layout at load. m is the number
// of tokens in the batch (1 per sequence when decoding, many when prefilling), and the kernel
// reuses every weight row it loads for up to kRowTile tokens, which is what makes batching
// several sequences into one step cheaper than running them one by one.
//
// This is the portable kernel: plain C++ written so that the compiler vectorises it at -O2 for
// the baseline target. The performance work adds runtime-dispatched SIMD (AVX2/AVX-512) and
// bf16/int8 weight variants here, behind the same signature.
//
// Thread-safety: pure functions; the work is split over output features (rows of w) on `pool`.
#pragma once

#include <cstdint>
#include <span>

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
// Spans must hold exactly m*k, n*k and m*n floats; y must not alias x or w.
void MatMul(std::span<const float> x, std::span<const float> w, std::span<const float> bias,
            std::span<float> y, MatMulDims dims, ThreadPool* pool);

}  // namespace inferline::engine::ops
