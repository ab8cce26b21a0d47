// The kernels, written once over a vector "traits" type V and instantiated per instruction set
// by kernels_scalar.cc, kernels_avx2.cc and kernels_avx512.cc. Include only from those files,
// after defining V (see any of them for the interface it must provide):
//
//   V::kWidth                         floats per register
//   V::Reg                            the register type
//   Zero() Set1(f) Load(p) Store(p, r) Add Sub Mul Div Fma(a, b, c) = a * b + c  Min Max
//   Reduce(r)                         horizontal sum, a fixed order of operations
//   LoadBF16(p) LoadF16(p) LoadI8(p)  kWidth values widened to f32
//   F16ToF32(bits)                    one value (tails)
//   RoundToInt / Pow2(n)              for exp: round to nearest; 2^n for integral n in a Reg
//   ZeroWhereLess(y, x, t)            y where x >= t, else 0 (also where x is NaN)
//
// Everything lives in an anonymous namespace: each translation unit gets its own copy compiled
// for its own instruction set.
//
// Matrix products: the output is computed in tiles of R rows of x by C rows of w, with R * C
// vector accumulators, each the sum over k of x[r, i] * w[c, i] in kWidth lanes, reduced at the
// end. An output element's operations depend only on k (never on R, C or the tile), which is
// the determinism contract of kernels.h. Loop order: blocks of kColBlock weight rows (kept in
// L2 while every row of x passes over them), then R-row tiles of x (kept in L1 while the block's
// weight rows pass), then C-column tiles.
#pragma once

#include <cstdint>

#include "engine/ops/kernels.h"

namespace inferline::engine::ops::kernels {
namespace {

constexpr int64_t kColBlock = 64;
constexpr int64_t kRowBlock = 64;
// While a tile reads its weight rows, it prefetches the rows about kPrefetchBytes further on
// (at least one tile ahead), one cache line per line read. Decoding streams every weight from
// memory exactly once, in rows of only 0.75-12 KB, which the hardware prefetchers alone follow
// poorly: this took single-thread decode from ~65% to ~90% of the read bandwidth for bf16 and
// int8 weights on the development machine (Zen 5).
constexpr int64_t kPrefetchBytes = 8192;

// Weight loaders: Load(a, j, i) = w[j, i .. i + kWidth) as f32; One(a, j, i) = w[j, i];
// kBytes per stored value, for prefetching.
template <class V>
struct LoadF32 {
  static constexpr int kBytes = 4;
  static const void* Address(const GemmArgs& a, int64_t j, int64_t i) {
    return static_cast<const float*>(a.w) + j * a.k + i;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t j, int64_t i) {
    return V::Load(static_cast<const float*>(a.w) + j * a.k + i);
  }
  static float One(const GemmArgs& a, int64_t j, int64_t i) {
    return static_cast<const float*>(a.w)[j * a.k + i];
  }
};

template <class V>
struct LoadBF16 {
  static constexpr int kBytes = 2;
  static const void* Address(const GemmArgs& a, int64_t j, int64_t i) {
    return static_cast<const uint16_t*>(a.w) + j * a.k + i;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t j, int64_t i) {
    return V::LoadBF16(static_cast<const uint16_t*>(a.w) + j * a.k + i);
  }
  static float One(const GemmArgs& a, int64_t j, int64_t i) {
    const uint32_t bits = static_cast<uint32_t>(static_cast<const uint16_t*>(a.w)[j * a.k + i])
                          << 16;
    float f;
    __builtin_memcpy(&f, &bits, sizeof(f));
    return f;
  }
};

template <class V>
struct LoadF16 {
  static constexpr int kBytes = 2;
  static const void* Address(const GemmArgs& a, int64_t j, int64_t i) {
    return static_cast<const uint16_t*>(a.w) + j * a.k + i;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t j, int64_t i) {
    return V::LoadF16(static_cast<const uint16_t*>(a.w) + j * a.k + i);
  }
  static float One(const GemmArgs& a, int64_t j, int64_t i) {
    return V::F16ToF32(static_cast<const uint16_t*>(a.w)[j * a.k + i]);
  }
};

// int8 * its group's scale. kWidth divides kInt8Group, so a register never straddles groups.
template <class V>
struct LoadI8 {
  static constexpr int kBytes = 1;
  static const void* Address(const GemmArgs& a, int64_t j, int64_t i) {
    return static_cast<const int8_t*>(a.w) + j * a.k + i;
  }
  static typename V::Reg Load(const GemmArgs& a, int64_t j, int64_t i) {
    const typename V::Reg q = V::LoadI8(static_cast<const int8_t*>(a.w) + j * a.k + i);
    return V::Mul(q, V::Set1(a.scales[j * a.groups + i / kInt8Group]));
  }
  static float One(const GemmArgs& a, int64_t j, int64_t i) {
    return static_cast<float>(static_cast<const int8_t*>(a.w)[j * a.k + i]) *
           a.scales[j * a.groups + i / kInt8Group];
  }
};

// y[r0 .. r0+R, j0 .. j0+C). kPrefetch: on the first pass over a block of weight rows (the one
// that streams them from memory); later passes find them in L2.
template <class V, class L, int R, int C, bool kPrefetch>
inline void Tile(const GemmArgs& a, int64_t r0, int64_t j0) {
  using Reg = typename V::Reg;
  constexpr int W = V::kWidth;
  const int64_t k = a.k;
  Reg acc[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) acc[r][c] = V::Zero();
  }
  const int64_t row_bytes = k * L::kBytes;
  const int64_t ahead = C > (kPrefetchBytes + row_bytes - 1) / row_bytes
                            ? C
                            : (kPrefetchBytes + row_bytes - 1) / row_bytes;
  const bool prefetch = kPrefetch && j0 + C + ahead <= a.n;
  int64_t i = 0;
  for (; i + W <= k; i += W) {
    Reg xv[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) xv[r] = V::Load(a.x + (r0 + r) * k + i);
    if (prefetch && ((i * L::kBytes) & 63) == 0) {
#pragma GCC unroll 16
      for (int c = 0; c < C; ++c) __builtin_prefetch(L::Address(a, j0 + c + ahead, i));
    }
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const Reg wv = L::Load(a, j0 + c, i);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][c] = V::Fma(xv[r], wv, acc[r][c]);
    }
  }
  if (i < k) {
    // The last partial register, zero-padded: the same operations as a full one.
    alignas(64) float xb[R][W];
    alignas(64) float wb[W];
    for (int r = 0; r < R; ++r) {
      for (int l = 0; l < W; ++l) xb[r][l] = i + l < k ? a.x[(r0 + r) * k + i + l] : 0.0f;
    }
    for (int c = 0; c < C; ++c) {
      for (int l = 0; l < W; ++l) wb[l] = i + l < k ? L::One(a, j0 + c, i + l) : 0.0f;
      const Reg wv = V::Load(wb);
      for (int r = 0; r < R; ++r) acc[r][c] = V::Fma(V::Load(xb[r]), wv, acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const float b = a.bias ? a.bias[j0 + c] : 0.0f;
      a.y[(r0 + r) * a.n + j0 + c] = V::Reduce(acc[r][c]) + b;
    }
  }
}

// A tile of n < R rows (the last rows of x), by recursion on the tile height.
template <class V, class L, int R, int C, bool kPrefetch>
inline void PartialTile(const GemmArgs& a, int64_t r, int64_t n, int64_t j0) {
  if constexpr (R > 1) {
    if (n == R - 1) {
      Tile<V, L, R - 1, C, kPrefetch>(a, r, j0);
    } else {
      PartialTile<V, L, R - 1, C, kPrefetch>(a, r, n, j0);
    }
  }
}

// Rows [r0, r1) (at most R) for columns [j0, j0 + C).
template <class V, class L, int R, int C>
inline void Rows(const GemmArgs& a, int64_t r0, int64_t r1, int64_t j0, bool first_pass) {
  if (r1 - r0 == R) {
    first_pass ? Tile<V, L, R, C, true>(a, r0, j0) : Tile<V, L, R, C, false>(a, r0, j0);
  } else if (first_pass) {
    PartialTile<V, L, R, C, true>(a, r0, r1 - r0, j0);
  } else {
    PartialTile<V, L, R, C, false>(a, r0, r1 - r0, j0);
  }
}

template <class V, class L, int R, int C>
void Gemm(const GemmArgs& a, int64_t j0, int64_t j1) {
  for (int64_t rb = 0; rb < a.m; rb += kRowBlock) {
    const int64_t rb_end = rb + kRowBlock < a.m ? rb + kRowBlock : a.m;
    for (int64_t jb = j0; jb < j1; jb += kColBlock) {
      const int64_t jb_end = jb + kColBlock < j1 ? jb + kColBlock : j1;
      for (int64_t r = rb; r < rb_end; r += R) {
        const int64_t r_end = r + R < rb_end ? r + R : rb_end;
        int64_t j = jb;
        const bool first_pass = r == rb;
        for (; j + C <= jb_end; j += C) Rows<V, L, R, C>(a, r, r_end, j, first_pass);
        for (; j < jb_end; ++j) Rows<V, L, R, 1>(a, r, r_end, j, first_pass);
      }
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
  for (int64_t j = 0; j < len; ++j) {
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

template <class V, int R, int C>
KernelTable MakeTable(Simd simd) {
  KernelTable t;
  t.simd = simd;
  t.gemm_f32 = &Gemm<V, LoadF32<V>, R, C>;
  t.gemm_bf16 = &Gemm<V, LoadBF16<V>, R, C>;
  t.gemm_f16 = &Gemm<V, LoadF16<V>, R, C>;
  t.gemm_int8 = &Gemm<V, LoadI8<V>, R, C>;
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
