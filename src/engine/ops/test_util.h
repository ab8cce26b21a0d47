// Helpers shared by the ops tests: seeded random tensors and an element-wise closeness check.
//
// Thread-safety: values only.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace inferline::engine::ops::testing {

inline std::vector<float> RandomVector(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Every |a - b| <= atol + rtol * |b|; reports the first offending index.
inline ::testing::AssertionResult AllClose(std::span<const float> a, std::span<const float> b,
                                           float atol, float rtol = 0.0f) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << b.size();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const float diff = std::fabs(a[i] - b[i]);
    if (!(diff <= atol + rtol * std::fabs(b[i]))) {
      return ::testing::AssertionFailure()
             << "at " << i << ": " << a[i] << " vs " << b[i] << " (diff " << diff << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace inferline::engine::ops::testing
