// Declarations of the generated Unicode tables (unicode_tables.cc, from gen_unicode_tables.py).
// Use the lookups in unicode.h rather than these arrays directly.
//
// Thread-safety: constant data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace inferline::engine::unicode {

struct CategoryRange {
  uint32_t lo, hi;
  uint8_t value;  // category flags, or a combining class
};
struct Decomposition {
  uint32_t cp, first, second;  // second == 0 for a singleton
};
struct Composition {
  uint32_t first, second, composite;
};

extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;
extern const CategoryRange kCombiningClass[];
extern const size_t kCombiningClassCount;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionCount;
extern const Composition kCompositions[];
extern const size_t kCompositionCount;

}  // namespace inferline::engine::unicode
