// Scalar conversions between f32 and the 16-bit float formats found in model files.
//
// IEEE 754 binary16 ("half", F16) and bfloat16 (BF16, the top 16 bits of an f32). Conversions to
// 16 bits round to nearest, ties to even; NaN stays NaN (quieted), overflow becomes infinity,
// and f16 subnormals are produced and read exactly. These are the reference scalar versions;
// vectorised kernels in engine/ops must agree with them bit for bit.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace inferline::engine {

float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float BF16ToFloat(uint16_t b);
uint16_t FloatToBF16(float f);

}  // namespace inferline::engine
