// The kernels, written once over a vector "traits" type V and instantiated per instruction set
// by kernels_scalar.cc, kernels_avx2.cc and kernels_avx512.cc. Include only from those files,
// after defining V (see any of them for the interface it must provide):
//
//   V::kWidth                         floats per register
//   V::Reg                            the register type
//   Zero() Set1(f) Load(p) Store(p, r) Add Sub Mul Div Fma(a, b, c) = a * b + c  Min Max
//   Reduce(r)                         horizontal sum, a fixed order of operations
//   Reduce4(a, b, c, d, out)          out[0..3] = the four horizontal sums (a fixed order too)
//   LoadBF16(p) LoadF16(p) LoadI8(p)  kWidth values widened to f32
//   RoundToInt / Pow2(n)              for exp: round to nearest; 2^n for integral n in a Reg
//   ZeroWhereLess(y, x, t)            y where x >= t, else 0 (also where x is NaN)
//
// Everything lives in an anonymous namespace: each translation unit gets its own copy compiled
// for its own instruction set.
//
// Matrix products (see GemmArgs for the packed weight layout): the output is computed in tiles
// of R rows of x by P panels of w, with R * P * kPanel / kWidth vector accumulators, one lane per
// output element. Each step along k loads the P panels' weights once, broadcasts x[r, i] for
// each of the R rows and multiplies-adds, so an output element is always the same sequential
// sum over k (the determinism contract of kernels.h) whatever tile it falls in. Loop order:
// blocks of panels small enough to stay in L2 while every row tile of x passes over them, then
// R-row tiles, then groups of P panels.
#pragma once

#include <cstdint>

#include "engine/ops/kernels.h"

namespace inferline::engine::ops::kernels {
namespace {

// A block of panels is sized to stay in L2 (with room for x and y) while every row tile of x
// passes over it; the first pass streams it from memory.
constexpr int64_t kBlockBytes = 256 * 1024;
// While a tile reads its panels on the first pass, it prefetches kPrefetchBytes further along
// each panel's stream, one cache line per line read. Decoding streams every weight from memory
// exactly once; the hardware prefetchers alone fall behind on several streams at once.
constexpr int64_t kPrefetchBytes = 4096;

// Weight loaders: Load(a, p, i, q) = the q-th register (kWidth lanes) of panel p at depth i,
// as f32; Address(a, p, i) = where that step of the panel starts; kBytes per stored value.
template <class V>
struct LoadF32 {
  static constexpr int kBytes = 4;
  static const char* Address(const GemmArgs& a, int64_t p, int64_t i) {
    return static_cast<const char*>(a.w) + ((p * a.k + i) * kPanel) * kBytes;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t p, int64_t i, int q) {
    return V::Load(static_cast<const float*>(a.w) + (p * a.k + i) * kPanel + q * V::kWidth);
  }
};

template <class V>
struct LoadBF16 {
  static constexpr int kBytes = 2;
  static const char* Address(const GemmArgs& a, int64_t p, int64_t i) {
    return static_cast<const char*>(a.w) + ((p * a.k + i) * kPanel) * kBytes;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t p, int64_t i, int q) {
    return V::LoadBF16(static_cast<const uint16_t*>(a.w) + (p * a.k + i) * kPanel +
                       q * V::kWidth);
  }
};

template <class V>
struct LoadF16 {
  static constexpr int kBytes = 2;
  static const char* Address(const GemmArgs& a, int64_t p, int64_t i) {
    return static_cast<const char*>(a.w) + ((p * a.k + i) * kPanel) * kBytes;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t p, int64_t i, int q) {
    return V::LoadF16(static_cast<const uint16_t*>(a.w) + (p * a.k + i) * kPanel +
                      q * V::kWidth);
  }
};

// int8 * its group's scale.
template <class V>
struct LoadI8 {
  static constexpr int kBytes = 1;
  static const char* Address(const GemmArgs& a, int64_t p, int64_t i) {
    return static_cast<const char*>(a.w) + (p * a.k + i) * kPanel;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t p, int64_t i, int q) {
    const typename V::Reg w =
        V::LoadI8(static_cast<const int8_t*>(a.w) + (p * a.k + i) * kPanel + q * V::kWidth);
    return V::Mul(w, V::Load(a.scales + (p * a.groups + i / kInt8Group) * kPanel +
                             q * V::kWidth));
  }
};

// y[r0 .. r0+R, panels p0 .. p0+P), with the prefetches of a first pass when `prefetch`.
template <class V, class L, int R, int P>
void Tile(const GemmArgs& a, int64_t r0, int64_t p0, bool prefetch) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  constexpr int Q = kPanel / W;  // registers per panel
  constexpr int64_t kStepBytes = kPanel * L::kBytes;
  constexpr int64_t kStepsPerLine = kStepBytes >= 64 ? 1 : 64 / kStepBytes;
  const int64_t k = a.k;
  Reg acc[R][P * Q];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int c = 0; c < P * Q; ++c) acc[r][c] = V::Zero();
  }
  const float* xr[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) xr[r] = a.x + (r0 + r) * k;
  for (int64_t i = 0; i < k; ++i) {
    if (prefetch && i % kStepsPerLine == 0) {
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        // Possibly past the end of the weights (a prefetch never faults): computed as an
        // integer so that no out-of-range pointer is ever formed.
        const __UINTPTR_TYPE__ at =
            reinterpret_cast<__UINTPTR_TYPE__>(L::Address(a, p0 + p, i)) + kPrefetchBytes;
        __builtin_prefetch(reinterpret_cast<const void*>(at));
      }
    }
    Reg wv[P * Q];
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
      for (int q = 0; q < Q; ++q) wv[p * Q + q] = L::Load(a, p0 + p, i, q);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Reg xv = V::Set1(xr[r][i]);
#pragma GCC unroll 16
      for (int c = 0; c < P * Q; ++c) acc[r][c] = V::Fma(xv, wv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
    const int64_t j = (p0 + p) * kPanel;
    if (j + kPanel <= a.n) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        float* y = a.y + (r0 + r) * a.n + j;
#pragma GCC unroll 16
        for (int q = 0; q < Q; ++q) {
          Reg v = acc[r][p * Q + q];
          if (a.bias != nullptr) v = V::Add(v, V::Load(a.bias + j + q * W));
          V::Store(y + q * W, v);
        }
      }
    } else {
      // The last, partial panel: the same additions, then only the real outputs are stored.
      const int64_t valid = a.n - j;
      for (int r = 0; r < R; ++r) {
        alignas(64) float out[kPanel];
        for (int q = 0; q < Q; ++q) V::Store(out + q * W, acc[r][p * Q + q]);
        float* y = a.y + (r0 + r) * a.n + j;
        for (int64_t l = 0; l < valid; ++l) y[l] = a.bias ? out[l] + a.bias[j + l] : out[l];
      }
    }
  }
}

// Rows [r0, r0 + rows) (rows <= R) for panels [p0, p0 + P).
template <class V, class L, int R, int P>
inline void Rows(const GemmArgs& a, int64_t r0, int64_t rows, int64_t p0, bool prefetch) {
  if (rows == R) {
    Tile<V, L, R, P>(a, r0, p0, prefetch);
  } else if constexpr (R > 1) {
    Rows<V, L, R - 1, P>(a, r0, rows, p0, prefetch);
  }
}

template <class V, class L, int R, int P>
void Gemm(const GemmArgs& a, int64_t j0, int64_t j1) {
  const int64_t p_begin = j0 / kPanel;
  const int64_t p_end = (j1 + kPanel - 1) / kPanel;
  const int64_t panel_bytes = a.k * kPanel * L::kBytes;  // 0 when k == 0: outputs = bias
  int64_t block = panel_bytes > 0 ? kBlockBytes / panel_bytes / P * P : P;
  if (block < P) block = P;
  for (int64_t pb = p_begin; pb < p_end; pb += block) {
    const int64_t pb_end = pb + block < p_end ? pb + block : p_end;
    for (int64_t r = 0; r < a.m; r += R) {
      const int64_t rows = a.m - r < R ? a.m - r : R;
      const bool first_pass = r == 0;
      int64_t p = pb;
      for (; p + P <= pb_end; p += P) Rows<V, L, R, P>(a, r, rows, p, first_pass);
      if constexpr (P > 2) {
        if (p + 2 <= pb_end) {
          Rows<V, L, R, 2>(a, r, rows, p, first_pass);
          p += 2;
        }
      }
      for (; p < pb_end; ++p) Rows<V, L, R, 1>(a, r, rows, p, first_pass);
    }
  }
}

template <class V>
float Dot(const float* a, const float* b, int64_t n) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  Reg acc0 = V::Zero(), acc1 = V::Zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    acc0 = V::Fma(V::Load(a + i), V::Load(b + i), acc0);
    acc1 = V::Fma(V::Load(a + i + W), V::Load(b + i + W), acc1);
  }
  for (; i + W <= n; i += W) acc0 = V::Fma(V::Load(a + i), V::Load(b + i), acc0);
  float sum = V::Reduce(V::Add(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

template <class V>
float Sum(const float* x, int64_t n) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  Reg a0 = V::Zero(), a1 = V::Zero(), a2 = V::Zero(), a3 = V::Zero();
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 = V::Add(a0, V::Load(x + i));
    a1 = V::Add(a1, V::Load(x + i + W));
    a2 = V::Add(a2, V::Load(x + i + 2 * W));
    a3 = V::Add(a3, V::Load(x + i + 3 * W));
  }
  float s = V::Reduce(V::Add(V::Add(a0, a1), V::Add(a2, a3)));
  for (; i < n; ++i) s += x[i];
  return s;
}

template <class V>
void Axpy(float alpha, const float* x, float* y, int64_t n) {
  constexpr int W = V::kWidth;
  const typename V::Reg av = V::Set1(alpha);
  int64_t i = 0;
  for (; i + W <= n; i += W) V::Store(y + i, V::Fma(av, V::Load(x + i), V::Load(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

// Attention over one head with hd = N registers: the query (or the output) stays in registers
// while the keys (values) stream past.
template <class V, int N>
void ScoresN(const float* q, const float* keys, int64_t len, float scale, float* out) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  Reg qv[N];
#pragma GCC unroll 16
  for (int r = 0; r < N; ++r) qv[r] = V::Load(q + r * W);
  int64_t j = 0;
  // Four keys at a time share one horizontal sum (the sums dominate a short dot product).
  for (; j + 4 <= len; j += 4) {
    Reg acc[4];
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      const float* kr = keys + (j + t) * N * W;
      acc[t] = V::Mul(qv[0], V::Load(kr));
#pragma GCC unroll 16
      for (int r = 1; r < N; ++r) acc[t] = V::Fma(qv[r], V::Load(kr + r * W), acc[t]);
    }
    alignas(16) float sums[4];
    V::Reduce4(acc[0], acc[1], acc[2], acc[3], sums);
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) out[j + t] = sums[t] * scale;
  }
  for (; j < len; ++j) {
    const float* kr = keys + j * N * W;
    Reg acc = V::Mul(qv[0], V::Load(kr));
#pragma GCC unroll 16
    for (int r = 1; r < N; ++r) acc = V::Fma(qv[r], V::Load(kr + r * W), acc);
    out[j] = V::Reduce(acc) * scale;
  }
}

template <class V, int N>
void WeightedSumN(const float* p, const float* values, int64_t len, float* out) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  Reg acc[N];
#pragma GCC unroll 16
  for (int r = 0; r < N; ++r) acc[r] = V::Zero();
  for (int64_t j = 0; j < len; ++j) {
    const Reg pj = V::Set1(p[j]);
    const float* vr = values + j * N * W;
#pragma GCC unroll 16
    for (int r = 0; r < N; ++r) acc[r] = V::Fma(pj, V::Load(vr + r * W), acc[r]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < N; ++r) V::Store(out + r * W, acc[r]);
}

template <class V>
void Scores(const float* q, const float* keys, int64_t len, int64_t hd, float scale, float* out) {
  constexpr int W = V::kWidth;
  if (hd % W == 0) {
    switch (hd / W) {
      case 1:
        return ScoresN<V, 1>(q, keys, len, scale, out);
      case 2:
        return ScoresN<V, 2>(q, keys, len, scale, out);
      case 4:
        return ScoresN<V, 4>(q, keys, len, scale, out);
      case 8:
        return ScoresN<V, 8>(q, keys, len, scale, out);
      case 16:
        return ScoresN<V, 16>(q, keys, len, scale, out);
      default:
        break;
    }
  }
  for (int64_t j = 0; j < len; ++j) out[j] = Dot<V>(q, keys + j * hd, hd) * scale;
}

template <class V>
void WeightedSum(const float* p, const float* values, int64_t len, int64_t hd, float* out) {
  constexpr int W = V::kWidth;
  if (hd % W == 0) {
    switch (hd / W) {
      case 1:
        return WeightedSumN<V, 1>(p, values, len, out);
      case 2:
        return WeightedSumN<V, 2>(p, values, len, out);
      case 4:
        return WeightedSumN<V, 4>(p, values, len, out);
      case 8:
        return WeightedSumN<V, 8>(p, values, len, out);
      case 16:
        return WeightedSumN<V, 16>(p, values, len, out);
      default:
        break;
    }
  }
  for (int64_t c = 0; c < hd; ++c) out[c] = 0.0f;
  for (int64_t j = 0; j < len; ++j) Axpy<V>(p[j], values + j * hd, out, hd);
}

// exp(x), Cephes' single-precision polynomial after reduction by ln 2 (about 1 ulp). x is
// clamped to [-87.3, 88] so that 2^n stays a normal float, and anything below -87.3 (masked
// attention entries: -inf) gives exactly 0.
template <class V>
inline typename V::Reg Exp(typename V::Reg x) {
  using Reg = typename V::Reg;
  const Reg in = x;
  x = V::Min(V::Max(x, V::Set1(-87.33654f)), V::Set1(88.0f));
  const Reg n = V::RoundToInt(V::Mul(x, V::Set1(1.44269504088896341f)));
  Reg r = V::Fma(n, V::Set1(-0.693359375f), x);
  r = V::Fma(n, V::Set1(2.12194440e-4f), r);
  Reg p = V::Set1(1.9875691500e-4f);
  p = V::Fma(p, r, V::Set1(1.3981999507e-3f));
  p = V::Fma(p, r, V::Set1(8.3334519073e-3f));
  p = V::Fma(p, r, V::Set1(4.1665795894e-2f));
  p = V::Fma(p, r, V::Set1(1.6666665459e-1f));
  p = V::Fma(p, r, V::Set1(5.0000001201e-1f));
  const Reg y = V::Add(V::Fma(p, V::Mul(r, r), r), V::Set1(1.0f));
  return V::ZeroWhereLess(V::Mul(y, V::Pow2(n)), in, V::Set1(-87.33654f));
}

template <class V>
float ExpSubSum(float* x, int64_t n, float max) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  const Reg mv = V::Set1(max);
  Reg acc = V::Zero();
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const Reg e = Exp<V>(V::Sub(V::Load(x + i), mv));
    V::Store(x + i, e);
    acc = V::Add(acc, e);
  }
  if (i < n) {
    alignas(64) float buf[W];
    for (int l = 0; l < W; ++l) buf[l] = i + l < n ? x[i + l] - max : -1000.0f;  // exp -> 0
    const Reg e = Exp<V>(V::Load(buf));
    V::Store(buf, e);
    for (int l = 0; i + l < n; ++l) x[i + l] = buf[l];
    acc = V::Add(acc, e);
  }
  return V::Reduce(acc);
}

// 0.5 x (1 + tanh(u)) with tanh(u) = 1 - 2 / (1 + exp(2u)), u clamped to +-9 (where tanh is 1
// to float precision).
template <class V>
inline typename V::Reg GeluTanhReg(typename V::Reg x) {
  using Reg = typename V::Reg;
  const Reg x3 = V::Mul(V::Mul(x, x), x);
  Reg u = V::Mul(V::Set1(0.7978845608028654f), V::Fma(V::Set1(0.044715f), x3, x));
  u = V::Min(V::Max(u, V::Set1(-9.0f)), V::Set1(9.0f));
  const Reg e = Exp<V>(V::Add(u, u));
  const Reg t = V::Sub(V::Set1(1.0f), V::Div(V::Set1(2.0f), V::Add(V::Set1(1.0f), e)));
  return V::Mul(V::Mul(V::Set1(0.5f), x), V::Add(V::Set1(1.0f), t));
}

template <class V>
void GeluTanh(float* x, int64_t n) {
  constexpr int W = V::kWidth;
  int64_t i = 0;
  for (; i + W <= n; i += W) V::Store(x + i, GeluTanhReg<V>(V::Load(x + i)));
  if (i < n) {
    alignas(64) float buf[W] = {};
    for (int l = 0; i + l < n; ++l) buf[l] = x[i + l];
    V::Store(buf, GeluTanhReg<V>(V::Load(buf)));
    for (int l = 0; i + l < n; ++l) x[i + l] = buf[l];
  }
}

template <class V, int R, int P>
KernelTable MakeTable(Simd simd) {
  KernelTable t;
  t.simd = simd;
  t.gemm_f32 = &Gemm<V, LoadF32<V>, R, P>;
  t.gemm_bf16 = &Gemm<V, LoadBF16<V>, R, P>;
  t.gemm_f16 = &Gemm<V, LoadF16<V>, R, P>;
  t.gemm_int8 = &Gemm<V, LoadI8<V>, R, P>;
  t.gemm_panels = P;
  t.dot = &Dot<V>;
  t.axpy = &Axpy<V>;
  t.scores = &Scores<V>;
  t.weighted_sum = &WeightedSum<V>;
  t.exp_sub_sum = &ExpSubSum<V>;
  t.sum = &Sum<V>;
  t.gelu_tanh = &GeluTanh<V>;
  return t;
}

}  // namespace
}  // namespace inferline::engine::ops::kernels
