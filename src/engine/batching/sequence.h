// One request while it occupies a slot of the batching scheduler: its tokens (prompt, then what
// was sampled), its KV cache, Sampler, Completion (stop rules and detokenization), callbacks
// and timings.
//
// The cache always holds tokens()[0 .. cache length); the tokens still to run are the rest:
// prompt tokens while prefilling, then exactly one — the last sampled token — while decoding.
//
// Thread-safety: owned by the scheduler thread. SampleNext may run on a helper thread while no
// other method of the same Sequence runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/batching/completion.h"
#include "engine/engine.h"
#include "engine/model/kv_cache.h"
#include "engine/sampler/sampler.h"

namespace inferline::engine {

using SteadyClock = std::chrono::steady_clock;

// A request accepted by Submit, waiting for a slot.
struct PendingRequest {
  uint64_t id = 0;
  EngineRequest request;
  EngineCallbacks callbacks;
  SteadyClock::time_point submitted;
};

class Sequence {
 public:
  // `cache` (emptied here) and `tokenizer` must outlive the Sequence. The request is valid.
  Sequence(PendingRequest pending, KvCache* cache, const Tokenizer& tokenizer,
           const std::vector<int32_t>& eos_ids);

  uint64_t id() const { return id_; }
  KvCache* cache() const { return cache_; }
  // Prompt tokens not yet in the cache (0 once decoding).
  int64_t prompt_left() const;
  // The next `n` tokens to run (n <= what is left), starting at position cache()->length().
  std::span<const int32_t> NextTokens(int64_t n) const;
  // Whether running NextTokens(n) leaves the sequence needing the next token's logits.
  bool NeedsLogitsAfter(int64_t n) const;

  // Draws the next token from `logits` ([vocab], used as scratch).
  int32_t SampleNext(std::span<float> logits);
  // Records the drawn token, streams its text through on_token and returns whether the
  // sequence is done.
  bool Accept(int32_t token);

  // The final result; `reason` is used when the sequence had not finished by itself
  // ("cancelled", "error"). Delivers it through on_done. Call once.
  void Finish(const std::string& reason, Status error = Status::Ok());

 private:
  uint64_t id_;
  EngineCallbacks callbacks_;
  KvCache* cache_;
  int64_t prompt_size_;
  std::vector<int32_t> tokens_;  // prompt, then every sampled token
  Sampler sampler_;
  Completion completion_;
  SteadyClock::time_point submitted_, admitted_, first_token_;
  bool has_first_token_ = false;
};

}  // namespace inferline::engine
