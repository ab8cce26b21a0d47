#include "engine/ops/matmul.h"

#include <algorithm>
#include <cassert>
#include <vector>

#include "engine/ops/thread_pool.h"

namespace inferline::engine::ops {
namespace {

// A parallel work item is one GEMM tile's width of panels (the kernels take whole panels, and
// ranges of whole tiles keep every tile full).
void Run(const kernels::GemmArgs& a, kernels::GemmFn fn, int tile_panels, ThreadPool* pool) {
  if (a.m == 0 || a.n == 0) return;
  const int64_t cols_per_item = kernels::kPanel * std::max(1, tile_panels);
  const int64_t items = (a.n + cols_per_item - 1) / cols_per_item;
  auto run = [&](int64_t b0, int64_t b1, int /*worker*/) {
    fn(a, b0 * cols_per_item, std::min(a.n, b1 * cols_per_item));
  };
  if (pool == nullptr) {
    run(0, items, 0);
  } else {
    // A single row (one decoding sequence) streams its weights from memory: a few long chunks
    // per thread keep the streams long. Several rows are compute-bound: finer chunks keep both
    // threads busy to the end of the product.
    pool->ParallelFor(items, 1, run, a.m == 1 ? 4 : 16);
  }
}

}  // namespace

void MatMul(std::span<const float> x, std::span<const float> w, std::span<const float> bias,
            std::span<float> y, MatMulDims d, ThreadPool* pool) {
  assert(static_cast<int64_t>(w.size()) == d.n * d.k);
  const WeightMatrix packed(std::vector<float>(w.begin(), w.end()), d.n, d.k);
  MatMul(x, packed, bias, y, d, pool, kernels::Active());
}

void MatMul(std::span<const float> x, const WeightMatrix& w, std::span<const float> bias,
            std::span<float> y, MatMulDims d, ThreadPool* pool) {
  MatMul(x, w, bias, y, d, pool, kernels::Active());
}

void MatMul(std::span<const float> x, const WeightMatrix& w, std::span<const float> bias,
            std::span<float> y, MatMulDims d, ThreadPool* pool,
            const kernels::KernelTable& table) {
  assert(static_cast<int64_t>(x.size()) == d.m * d.k);
  assert(w.rows() == d.n && w.cols() == d.k);
  assert(static_cast<int64_t>(y.size()) == d.m * d.n);
  assert(bias.empty() || static_cast<int64_t>(bias.size()) == d.n);
  kernels::GemmArgs a;
  a.x = x.data();
  a.m = d.m;
  a.k = d.k;
  a.n = d.n;
  a.bias = bias.empty() ? nullptr : bias.data();
  a.y = y.data();
  kernels::GemmFn fn = nullptr;
  switch (w.dtype()) {
    case WeightDType::kF32:
      a.w = w.f32();
      fn = table.gemm_f32;
      break;
    case WeightDType::kBF16:
      a.w = w.half();
      fn = table.gemm_bf16;
      break;
    case WeightDType::kF16:
      a.w = w.half();
      fn = table.gemm_f16;
      break;
    case WeightDType::kInt8:
      a.w = w.int8();
      a.scales = w.scales();
      a.groups = w.groups_per_row();
      fn = table.gemm_int8;
      break;
  }
  Run(a, fn, table.gemm_panels, pool);
}

}  // namespace inferline::engine::ops
