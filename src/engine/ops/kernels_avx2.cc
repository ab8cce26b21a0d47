// The AVX2 + FMA + F16C kernel table (8 floats per register). Compiled with those extensions
// enabled for this file only; used when the CPU reports them (see kernels.h).
#include "engine/ops/kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "engine/ops/kernels_impl.h"

namespace inferline::engine::ops::kernels {
namespace {

struct Avx2V {
  static constexpr int kWidth = 8;
  using Reg = __m256;
  static Reg Zero() { return _mm256_setzero_ps(); }
  static Reg Set1(float f) { return _mm256_set1_ps(f); }
  static Reg Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, Reg a) { _mm256_storeu_ps(p, a); }
  static Reg Add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg Sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg Mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg Div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  static Reg Fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg Min(Reg a, Reg b) { return _mm256_min_ps(a, b); }
  static Reg Max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg LoadBF16(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static Reg LoadF16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static Reg LoadI8(const int8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static Reg RoundToInt(Reg a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static Reg ZeroWhereLess(Reg y, Reg x, Reg t) {
    return _mm256_and_ps(y, _mm256_cmp_ps(x, t, _CMP_GE_OQ));
  }
  static Reg Pow2(Reg n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static float F16ToF32(uint16_t h) { return _cvtsh_ss(h); }
  static float Reduce(Reg a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // out[0..3] = the horizontal sums of a, b, c and d, sharing the shuffles.
  static void Reduce4(Reg a, Reg b, Reg c, Reg d, float* out) {
    const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
  }
};

}  // namespace

const KernelTable* Avx2Table() {
  static const KernelTable table = MakeTable<Avx2V, 6, 1>(Simd::kAvx2);
  return &table;
}

}  // namespace inferline::engine::ops::kernels

#else

namespace inferline::engine::ops::kernels {
const KernelTable* Avx2Table() { return nullptr; }
}  // namespace inferline::engine::ops::kernels

#endif
