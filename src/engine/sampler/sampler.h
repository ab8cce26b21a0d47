// Choosing the next token from a row of logits: repetition penalty, temperature, top-k, top-p,
// then a draw from the remaining distribution, or argmax when temperature is 0.
//
// The rules follow Hugging Face transformers so that results are comparable:
//   - repetition penalty p (applied first, also when greedy): for every distinct token already
//     in the sequence (prompt included), logit > 0 ? logit / p : logit * p;
//   - presence and frequency penalties (OpenAI's definition, also when greedy): for every token j
//     this sampler has already produced c[j] > 0 times, logit -= c[j] * frequency_penalty +
//     presence_penalty. Only generated tokens count, not the prompt (as OpenAI and vLLM do);
//     the sampler counts the tokens it returns, so each call's token is assumed to be appended;
//   - temperature t: logits / t; t == 0 means greedy (argmax, lowest id on ties);
//   - top-k: keep the k highest logits (exactly k; ties broken towards the lower id); 0 = off;
//   - top-p: keep the smallest set of most likely tokens whose probabilities sum to >= top_p
//     (always at least one token); 1 = off.
// The draw uses the sampler's own std::mt19937_64: a given seed always yields the same tokens
// for the same logits; without a seed the sampler seeds itself from std::random_device.
//
// Thread-safety: a Sampler belongs to one sequence and is not thread-safe (it owns RNG state).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "common/status.h"

namespace inferline::engine {

struct SamplingParams {
  float temperature = 1.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;   // -2 .. 2
  float frequency_penalty = 0.0f;  // -2 .. 2
  std::optional<uint64_t> seed;
};

// InvalidArgument naming the parameter ("temperature", "top_p", "top_k", "repetition_penalty",
// "presence_penalty", "frequency_penalty") when a value is out of range or not finite.
[[nodiscard]] Status ValidateSamplingParams(const SamplingParams& params);

class Sampler {
 public:
  // params must have passed ValidateSamplingParams.
  explicit Sampler(const SamplingParams& params);

  // Picks the next token. `logits` is one row [vocab] and is used as scratch (it is modified).
  // `previous` are the sequence's tokens so far, for the repetition penalty; ids outside the
  // row are ignored.
  int32_t Sample(std::span<float> logits, std::span<const int32_t> previous);

  const SamplingParams& params() const { return params_; }
  // The seed actually in use (the given one, or the random one chosen at construction).
  uint64_t seed() const { return seed_; }

 private:
  // Temperature, top-k, top-p and the draw (or argmax) on already penalised logits.
  int32_t Choose(std::span<float> logits);

  SamplingParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  // Reused between calls so that sampling a token does not allocate.
  std::vector<int32_t> order_;
  std::vector<float> probs_;
  // Presence / frequency penalties: how often each token was produced, and the distinct ones.
  std::vector<int32_t> produced_count_;
  std::vector<int32_t> produced_;
};

// The individual rules, exposed for tests and for callers that compose them differently.
namespace sampling {

void ApplyRepetitionPenalty(std::span<float> logits, std::span<const int32_t> previous,
                            float penalty);
// logits[j] -= counts[j] * frequency + presence for every j in `distinct` (counts[j] > 0).
void ApplyPresenceFrequencyPenalty(std::span<float> logits, std::span<const int32_t> distinct,
                                   std::span<const int32_t> counts, float presence,
                                   float frequency);
int32_t ArgMax(std::span<const float> logits);
// Ids of the candidates that survive top-k and top-p on `logits` (already temperature-scaled),
// sorted by descending logit (ties: lower id first), with their renormalised probabilities.
void Candidates(std::span<const float> logits, int top_k, float top_p, std::vector<int32_t>& ids,
                std::vector<float>& probs);
// Index into probs drawn with probability probs[i] using uniform u in [0, 1).
size_t Draw(std::span<const float> probs, double u);

}  // namespace sampling
}  // namespace inferline::engine
