// Which tokens of which sequences go into the next forward step: the batching policy, kept as a
// pure function so that it can be tested without a model.
//
// Every decoding sequence gets its one token (running sequences never stall); the token budget
// left (max_batch_tokens minus the decoders) goes to prefilling sequences in admission order,
// each at most prefill_chunk_tokens per step. A long prompt is therefore read in chunks over
// several steps while the others keep streaming, and the oldest joining sequence finishes its
// prefill first.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace inferline::engine {

struct BatchPlanLimits {
  int64_t max_batch_tokens = 512;
  int64_t prefill_chunk_tokens = 256;
};

struct PlannedStep {
  size_t sequence = 0;  // index into the input
  int64_t tokens = 0;   // 1 for a decoder, the chunk size for a prefill
};

// prompt_left[i]: prompt tokens sequence i (in admission order) still has to prefill; 0 means
// it is decoding. Decoders come first in the result, then prefill chunks; a sequence with no
// budget left this step is absent.
std::vector<PlannedStep> PlanBatch(std::span<const int64_t> prompt_left, BatchPlanLimits limits);

}  // namespace inferline::engine
