// The portable kernel table: 8-lane "registers" of plain floats that the compiler vectorises for
// the baseline target (SSE2 on x86-64), with unfused multiply-adds.
#include <cmath>
#include <cstring>

#include "engine/io/half.h"
#include "engine/ops/kernels_impl.h"

namespace inferline::engine::ops::kernels {
namespace {

struct ScalarV {
  static constexpr int kWidth = 8;
  struct Reg {
    float v[kWidth];
  };
#define INFERLINE_LANES(expr)                 \
  Reg r;                                      \
  for (int l = 0; l < kWidth; ++l) r.v[l] = (expr); \
  return r
  static Reg Zero() { INFERLINE_LANES(0.0f); }
  static Reg Set1(float f) { INFERLINE_LANES(f); }
  static Reg Load(const float* p) { INFERLINE_LANES(p[l]); }
  static void Store(float* p, Reg a) { std::memcpy(p, a.v, sizeof(a.v)); }
  static Reg Add(Reg a, Reg b) { INFERLINE_LANES(a.v[l] + b.v[l]); }
  static Reg Sub(Reg a, Reg b) { INFERLINE_LANES(a.v[l] - b.v[l]); }
  static Reg Mul(Reg a, Reg b) { INFERLINE_LANES(a.v[l] * b.v[l]); }
  static Reg Div(Reg a, Reg b) { INFERLINE_LANES(a.v[l] / b.v[l]); }
  static Reg Fma(Reg a, Reg b, Reg c) { INFERLINE_LANES(a.v[l] * b.v[l] + c.v[l]); }
  static Reg Min(Reg a, Reg b) { INFERLINE_LANES(a.v[l] < b.v[l] ? a.v[l] : b.v[l]); }
  static Reg Max(Reg a, Reg b) { INFERLINE_LANES(a.v[l] > b.v[l] ? a.v[l] : b.v[l]); }
  static Reg LoadBF16(const uint16_t* p) { INFERLINE_LANES(BF16ToFloat(p[l])); }
  static Reg LoadF16(const uint16_t* p) { INFERLINE_LANES(HalfToFloat(p[l])); }
  static Reg LoadI8(const int8_t* p) { INFERLINE_LANES(static_cast<float>(p[l])); }
  static Reg RoundToInt(Reg a) { INFERLINE_LANES(std::nearbyint(a.v[l])); }
  static Reg ZeroWhereLess(Reg y, Reg x, Reg t) { INFERLINE_LANES(x.v[l] >= t.v[l] ? y.v[l] : 0.0f); }
  static Reg Pow2(Reg n) { INFERLINE_LANES(std::ldexp(1.0f, static_cast<int>(n.v[l]))); }
#undef INFERLINE_LANES
  static float F16ToF32(uint16_t h) { return HalfToFloat(h); }
  static float Reduce(Reg a) {
    // Pairwise, like the SIMD versions.
    float s[kWidth];
    for (int l = 0; l < kWidth; ++l) s[l] = a.v[l];
    for (int w = kWidth / 2; w > 0; w /= 2) {
      for (int l = 0; l < w; ++l) s[l] += s[l + w];
    }
    return s[0];
  }
  static void Reduce4(Reg a, Reg b, Reg c, Reg d, float* out) {
    out[0] = Reduce(a);
    out[1] = Reduce(b);
    out[2] = Reduce(c);
    out[3] = Reduce(d);
  }
};

}  // namespace

const KernelTable* ScalarTable() {
  static const KernelTable table = MakeTable<ScalarV, 4, 1>(Simd::kScalar);
  return &table;
}

}  // namespace inferline::engine::ops::kernels
