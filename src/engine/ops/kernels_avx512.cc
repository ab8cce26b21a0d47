// The AVX-512 (F, BW, VL, DQ) kernel table (16 floats per register). Compiled with those
// extensions enabled for this file only; used when the CPU reports them (see kernels.h).
#include "engine/ops/kernels.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && \
    defined(__AVX512VL__) && defined(__AVX512DQ__)
// GCC 12's AVX-512 extract intrinsics (used by _mm512_reduce_add_ps) start from
// _mm256_undefined_pd(), which its own -Wuninitialized then reports: a known false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "engine/ops/kernels_impl.h"

namespace inferline::engine::ops::kernels {
namespace {

struct Avx512V {
  static constexpr int kWidth = 16;
  using Reg = __m512;
  static Reg Zero() { return _mm512_setzero_ps(); }
  static Reg Set1(float f) { return _mm512_set1_ps(f); }
  static Reg Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, Reg a) { _mm512_storeu_ps(p, a); }
  static Reg Add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg Sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg Mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg Div(Reg a, Reg b) { return _mm512_div_ps(a, b); }
  static Reg Fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg Min(Reg a, Reg b) { return _mm512_min_ps(a, b); }
  static Reg Max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg LoadBF16(const uint16_t* p) {
    const __m512i w =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  static Reg LoadF16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static Reg LoadI8(const int8_t* p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static Reg RoundToInt(Reg a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static Reg ZeroWhereLess(Reg y, Reg x, Reg t) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, t, _CMP_GE_OQ), y);
  }
  static Reg Pow2(Reg n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static float F16ToF32(uint16_t h) { return _cvtsh_ss(h); }
  static float Reduce(Reg a) { return _mm512_reduce_add_ps(a); }
  // out[0..3] = the horizontal sums of a, b, c and d, sharing the shuffles.
  static void Reduce4(Reg a, Reg b, Reg c, Reg d, float* out) {
    auto half = [](Reg x) {
      return _mm256_add_ps(_mm512_castps512_ps256(x), _mm512_extractf32x8_ps(x, 1));
    };
    const __m256 abcd =
        _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
  }
};

}  // namespace

const KernelTable* Avx512Table() {
  static const KernelTable table = MakeTable<Avx512V, 8, 3>(Simd::kAvx512);
  return &table;
}

}  // namespace inferline::engine::ops::kernels

#else

namespace inferline::engine::ops::kernels {
const KernelTable* Avx512Table() { return nullptr; }
}  // namespace inferline::engine::ops::kernels

#endif
