#include "engine/sampler/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace inferline::engine {

Status ValidateSamplingParams(const SamplingParams& p) {
  if (!std::isfinite(p.temperature) || p.temperature < 0.0f) {
    return InvalidArgument(
        fmt::format("temperature must be a finite number >= 0, got {}", p.temperature),
        "temperature");
  }
  if (!std::isfinite(p.top_p) || p.top_p <= 0.0f || p.top_p > 1.0f) {
    return InvalidArgument(fmt::format("top_p must be in (0, 1], got {}", p.top_p), "top_p");
  }
  if (p.top_k < 0) {
    return InvalidArgument(fmt::format("top_k must be >= 0 (0 disables it), got {}", p.top_k),
                           "top_k");
  }
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.0f) {
    return InvalidArgument(
        fmt::format("repetition_penalty must be a finite number > 0, got {}", p.repetition_penalty),
        "repetition_penalty");
  }
  for (auto [name, v] : {std::pair<const char*, float>{"presence_penalty", p.presence_penalty},
                         std::pair<const char*, float>{"frequency_penalty", p.frequency_penalty}}) {
    if (!std::isfinite(v) || v < -2.0f || v > 2.0f) {
      return InvalidArgument(fmt::format("{} must be a number from -2 to 2, got {}", name, v),
                             name);
    }
  }
  return Status::Ok();
}

namespace sampling {

void ApplyRepetitionPenalty(std::span<float> logits, std::span<const int32_t> previous,
                            float penalty) {
  if (penalty == 1.0f) return;
  // Each distinct token once, however often it occurred (as HF's gather/scatter does).
  std::vector<bool> done(logits.size(), false);
  for (int32_t id : previous) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size() || done[id]) continue;
    done[id] = true;
    float& l = logits[id];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

void ApplyPresenceFrequencyPenalty(std::span<float> logits, std::span<const int32_t> distinct,
                                   std::span<const int32_t> counts, float presence,
                                   float frequency) {
  for (int32_t id : distinct) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size() ||
        static_cast<size_t>(id) >= counts.size() || counts[id] <= 0) {
      continue;
    }
    logits[id] -= static_cast<float>(counts[id]) * frequency + presence;
  }
}

int32_t ArgMax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  }
  return best;
}

void Candidates(std::span<const float> logits, int top_k, float top_p, std::vector<int32_t>& ids,
                std::vector<float>& probs) {
  const int64_t n = static_cast<int64_t>(logits.size());
  ids.resize(n);
  std::iota(ids.begin(), ids.end(), 0);
  auto before = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  if (top_k > 0 && top_k < n) {
    std::partial_sort(ids.begin(), ids.begin() + top_k, ids.end(), before);
    ids.resize(top_k);
  } else if (top_p < 1.0f) {
    std::sort(ids.begin(), ids.end(), before);
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t id : ids) mx = std::max(mx, logits[id]);
  probs.resize(ids.size());
  double sum = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    probs[i] = std::exp(logits[ids[i]] - mx);
    sum += probs[i];
  }
  for (float& p : probs) p = static_cast<float>(p / sum);
  if (top_p >= 1.0f) return;
  // ids are sorted by descending probability here: keep the shortest prefix reaching top_p.
  double cum = 0.0;
  size_t keep = ids.size();
  for (size_t i = 0; i < ids.size(); ++i) {
    cum += probs[i];
    if (cum >= top_p) {
      keep = i + 1;
      break;
    }
  }
  ids.resize(keep);
  probs.resize(keep);
  const double kept = std::accumulate(probs.begin(), probs.end(), 0.0);
  for (float& p : probs) p = static_cast<float>(p / kept);
}

size_t Draw(std::span<const float> probs, double u) {
  double cum = 0.0;
  size_t last_nonzero = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0f) continue;
    cum += probs[i];
    last_nonzero = i;
    if (u < cum) return i;
  }
  return last_nonzero;  // u beyond the rounded total
}

}  // namespace sampling

namespace {

// A seed for an unseeded sampler. Opening a std::random_device costs system calls on every
// request; a per-thread 64-bit generator seeded from it once gives distinct seeds just as well.
uint64_t FreshSeed() {
  thread_local std::mt19937_64 source{(uint64_t{std::random_device{}()} << 32) ^
                                      std::random_device{}()};
  return source();
}

}  // namespace

Sampler::Sampler(const SamplingParams& params)
    : params_(params), seed_(params.seed ? *params.seed : FreshSeed()), rng_(seed_) {}

int32_t Sampler::Sample(std::span<float> logits, std::span<const int32_t> previous) {
  if (logits.empty()) return 0;
  // A NaN would break the orderings below; treat it as "impossible".
  for (float& l : logits) {
    if (std::isnan(l)) l = -std::numeric_limits<float>::infinity();
  }
  sampling::ApplyRepetitionPenalty(logits, previous, params_.repetition_penalty);
  const bool counting = params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  if (counting) {
    sampling::ApplyPresenceFrequencyPenalty(logits, produced_, produced_count_,
                                            params_.presence_penalty, params_.frequency_penalty);
  }
  const int32_t token = Choose(logits);
  if (counting && token >= 0 && static_cast<size_t>(token) < logits.size()) {
    if (produced_count_.size() < logits.size()) produced_count_.resize(logits.size(), 0);
    if (produced_count_[token]++ == 0) produced_.push_back(token);
  }
  return token;
}

int32_t Sampler::Choose(std::span<float> logits) {
  const int32_t best = sampling::ArgMax(logits);
  const float mx = logits[best];
  if (params_.temperature == 0.0f || !std::isfinite(mx)) return best;
  // Subtract the maximum before dividing so that tiny temperatures cannot overflow.
  for (float& l : logits) l = (l - mx) / params_.temperature;
  sampling::Candidates(logits, params_.top_k, params_.top_p, order_, probs_);
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  return order_[sampling::Draw(probs_, u)];
}

}  // namespace inferline::engine
