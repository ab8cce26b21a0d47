#include "engine/ops/kernels.h"

#include <cstdlib>
#include <string_view>

namespace inferline::engine::ops::kernels {
namespace {

bool CpuHas(Simd s) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (s) {
    case Simd::kScalar:
      return true;
    case Simd::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c");
    case Simd::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }
  return false;
#else
  return s == Simd::kScalar;
#endif
}

const KernelTable& Choose() {
  Simd cap = Simd::kAvx512;
  if (const char* env = std::getenv("INFERLINE_SIMD")) {
    const std::string_view v(env);
    if (v == "scalar") cap = Simd::kScalar;
    if (v == "avx2") cap = Simd::kAvx2;
  }
  for (int s = static_cast<int>(cap); s > 0; --s) {
    if (const KernelTable* t = KernelsFor(static_cast<Simd>(s))) return *t;
  }
  return *ScalarTable();
}

}  // namespace

const char* SimdName(Simd s) {
  switch (s) {
    case Simd::kScalar:
      return "scalar";
    case Simd::kAvx2:
      return "avx2";
    case Simd::kAvx512:
      return "avx512";
  }
  return "?";
}

const KernelTable* KernelsFor(Simd s) {
  if (!CpuHas(s)) return nullptr;
  switch (s) {
    case Simd::kScalar:
      return ScalarTable();
    case Simd::kAvx2:
      return Avx2Table();
    case Simd::kAvx512:
      return Avx512Table();
  }
  return nullptr;
}

const KernelTable& Active() {
  static const KernelTable& table = Choose();
  return table;
}

}  // namespace inferline::engine::ops::kernels
