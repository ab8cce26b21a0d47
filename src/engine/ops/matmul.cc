#include "engine/ops/matmul.h"

#include <algorithm>
#include <cassert>

#include "engine/ops/thread_pool.h"

namespace inferline::engine::ops {
namespace {

// Lanes of the partial sums. Keeping kLanes independent accumulators per dot product lets the
// compiler turn the inner loop into vector multiply-adds without reassociating float sums
// (which it may not do without -ffast-math).
constexpr int kLanes = 8;
// Tokens that share each loaded weight row.
constexpr int kRowTile = 4;
// Output features per parallel work item: enough weight rows to amortise the scheduling.
constexpr int64_t kColsPerChunk = 16;

// y[r, j] for r < R rows of x starting at x, one weight row w. Returns via out[r].
template <int R>
inline void DotRows(const float* x, int64_t ldx, const float* w, int64_t k, float* out) {
  float acc[R][kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes) {
    float wv[kLanes];
    for (int l = 0; l < kLanes; ++l) wv[l] = w[i + l];
    for (int r = 0; r < R; ++r) {
      const float* xr = x + r * ldx + i;
      for (int l = 0; l < kLanes; ++l) acc[r][l] += xr[l] * wv[l];
    }
  }
  for (int r = 0; r < R; ++r) {
    float tail = 0.0f;
    const float* xr = x + r * ldx;
    for (int64_t t = i; t < k; ++t) tail += xr[t] * w[t];
    float sum = 0.0f;
    for (int l = 0; l < kLanes; ++l) sum += acc[r][l];
    out[r] = sum + tail;
  }
}

// Columns [j0, j1) of y for every row.
void MatMulCols(const float* x, const float* w, const float* bias, float* y, MatMulDims d,
                int64_t j0, int64_t j1) {
  float out[kRowTile];
  int64_t r = 0;
  for (; r + kRowTile <= d.m; r += kRowTile) {
    for (int64_t j = j0; j < j1; ++j) {
      DotRows<kRowTile>(x + r * d.k, d.k, w + j * d.k, d.k, out);
      const float b = bias ? bias[j] : 0.0f;
      for (int t = 0; t < kRowTile; ++t) y[(r + t) * d.n + j] = out[t] + b;
    }
  }
  for (; r < d.m; ++r) {
    for (int64_t j = j0; j < j1; ++j) {
      DotRows<1>(x + r * d.k, d.k, w + j * d.k, d.k, out);
      y[r * d.n + j] = out[0] + (bias ? bias[j] : 0.0f);
    }
  }
}

}  // namespace

void MatMul(std::span<const float> x, std::span<const float> w, std::span<const float> bias,
            std::span<float> y, MatMulDims d, ThreadPool* pool) {
  assert(static_cast<int64_t>(x.size()) == d.m * d.k);
  assert(static_cast<int64_t>(w.size()) == d.n * d.k);
  assert(static_cast<int64_t>(y.size()) == d.m * d.n);
  assert(bias.empty() || static_cast<int64_t>(bias.size()) == d.n);
  if (d.m == 0 || d.n == 0) return;
  const float* b = bias.empty() ? nullptr : bias.data();
  auto run = [&](int64_t j0, int64_t j1, int /*worker*/) {
    MatMulCols(x.data(), w.data(), b, y.data(), d, j0, j1);
  };
  if (pool == nullptr) {
    run(0, d.n, 0);
  } else {
    pool->ParallelFor(d.n, kColsPerChunk, run);
  }
}

}  // namespace inferline::engine::ops
