// The SIMD kernel tables behind the ops, one per instruction set, chosen at run time.
//
// Each table is compiled in its own translation unit with that instruction set enabled
// (kernels_avx2.cc with -mavx2 -mfma -mf16c, kernels_avx512.cc with -mavx512f/bw/vl/dq), so the
// build never needs -march=native and one binary runs everywhere: Active() picks the best table
// the CPU supports (__builtin_cpu_supports), and INFERLINE_SIMD=scalar|avx2|avx512 can lower the
// choice (benchmarks, tests). The kernel translation units include no standard-library headers
// with inline functions, so no wider-ISA copy of a shared inline function can leak into code
// that runs on an older CPU.
//
// Determinism contract: every output element is computed by the same sequence of operations
// whatever the shape of the call (number of rows m, the tile it falls in, the column range a
// thread gets): a matrix product's element is acc = x[r, i] * w[j, i] + acc for i = 0, 1,
// ..., k - 1 from acc = 0, then + bias (a fused multiply-add in the AVX2 and AVX-512 tables,
// a multiply and an add in the portable one). So a sequence's logits do not depend on what else is in its batch, which is
// what makes batched and unbatched generation give identical tokens.
//
// Thread-safety: tables are immutable; the functions are pure.
#pragma once

#include <cstdint>

namespace inferline::engine::ops::kernels {

enum class Simd { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

const char* SimdName(Simd s);

// y[m, n] = x[m, k] · w[n, k]^T (+ bias), for output columns [j0, j1) of every row; j0 is a
// multiple of kPanel, and so is j1 unless it is n.
//
// The weights are packed in panels of kPanel output features (WeightMatrix does it at load):
// panel p holds w[p * kPanel + l, i] at (p * k + i) * kPanel + l, so one step along k reads the
// kPanel weights of consecutive outputs from one contiguous run of memory, and the kernels keep
// a running sum per output in a register lane (no horizontal reductions). The last panel is
// padded with zero rows. int8 scales are packed the same way: scale (j, g) of output j and
// group g sits at (p * groups + g) * kPanel + l.
struct GemmArgs {
  const float* x = nullptr;  // [m, k]
  int64_t m = 0, k = 0, n = 0;
  const void* w = nullptr;         // packed panels (above) in the dtype of the kernel
  const float* scales = nullptr;   // int8: packed [panels, groups, kPanel]
  int64_t groups = 0;              // int8: scale groups along k (group size kInt8Group)
  const float* bias = nullptr;     // [n] or null
  float* y = nullptr;              // [m, n]
};
using GemmFn = void (*)(const GemmArgs& a, int64_t j0, int64_t j1);

struct KernelTable {
  Simd simd;
  GemmFn gemm_f32, gemm_bf16, gemm_f16, gemm_int8;
  // Panels a GEMM tile covers: column ranges that are multiples of gemm_panels * kPanel keep
  // every tile full (a narrower leftover tile reuses each broadcast x for fewer outputs).
  int gemm_panels = 1;
  // sum a[i] * b[i]
  float (*dot)(const float* a, const float* b, int64_t n);
  // y[i] += alpha * x[i]
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);
  // Attention scores: out[j] = scale * (q · keys[j, :]) for j < len; keys is [len, hd].
  void (*scores)(const float* q, const float* keys, int64_t len, int64_t hd, float scale,
                 float* out);
  // Attention output: out[:] = sum_j p[j] * values[j, :]; values is [len, hd].
  void (*weighted_sum)(const float* p, const float* values, int64_t len, int64_t hd, float* out);
  // In place: x = exp(x - max) over n values; returns the sum (softmax numerator).
  float (*exp_sub_sum)(float* x, int64_t n, float max);
  // sum x[i], four registers at a time (the streaming-read bandwidth benchmark).
  float (*sum)(const float* x, int64_t n);
  // In place, GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
  void (*gelu_tanh)(float* x, int64_t n);
};

// The table for `s`, or null when this build or CPU cannot run it.
const KernelTable* KernelsFor(Simd s);
// The best table the CPU supports, capped by INFERLINE_SIMD; chosen once.
const KernelTable& Active();

// Defined in the per-ISA translation units.
const KernelTable* ScalarTable();
const KernelTable* Avx2Table();    // null when not compiled for x86-64
const KernelTable* Avx512Table();  // null when not compiled for x86-64

// Values of kernels_common used by every ISA.
constexpr int64_t kInt8Group = 64;  // == WeightMatrix::kInt8Group
constexpr int64_t kPanel = 16;      // output features per packed weight panel (GemmArgs)

}  // namespace inferline::engine::ops::kernels
