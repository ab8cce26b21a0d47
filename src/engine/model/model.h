// A loaded transformer language model (GPT-2 or Llama) and its batched forward pass.
//
// The Model holds only what every sequence shares: the configuration, the weights, the RoPE
// tables and a thread pool. Per-sequence state lives outside it: each sequence owns a KvCache,
// and each caller owns an Activations workspace. A forward step takes a BATCH of sequences, each
// contributing 1..n new tokens (1 when decoding, the prompt when prefilling), and runs all of
// the batch's tokens through each weight matrix in one matrix-matrix product, so that a
// continuous-batching scheduler reads the weights once per step, not once per sequence.
//
// Usage:
//   ASSIGN_OR_RETURN(auto model, Model::Load(dir, {}));
//   ASSIGN_OR_RETURN(auto cache, KvCache::Create(model->config(), capacity));
//   Activations act;
//   std::vector<float> logits(model->config().vocab_size);
//   SequenceStep step{cache.get(), 0, prompt_ids, LogitsMode::kLast, logits};
//   RETURN_IF_ERROR(model->Forward({&step, 1}, act));
//
// Thread-safety: a Model is immutable after Load. Forward is const and may be called from
// several threads at once, each with its own Activations and disjoint KvCaches (the calls then
// take turns on the shared thread pool).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "engine/io/model_config.h"
#include "engine/model/kv_cache.h"
#include "engine/model/weights.h"
#include "engine/ops/attention.h"
#include "engine/ops/rope.h"
#include "engine/ops/thread_pool.h"

namespace inferline::engine {

struct LoadOptions {
  // Threads for the forward pass, counting the caller's; 0 = all hardware threads.
  int num_threads = 0;
  // Precision the weight matrices are kept in (whatever the file's dtype): f32, bf16 or f16
  // (16 bits in memory, widened in registers), or int8 with per-group scales (quantized here).
  ops::WeightDType weight_dtype = ops::WeightDType::kF32;
};

enum class LogitsMode {
  kNone,  // no logits (an intermediate chunk of a long prefill)
  kLast,  // logits of the last new token: [vocab]
  kAll,   // logits of every new token: [tokens.size(), vocab] (scoring, tests)
};

// One sequence's share of a forward step.
struct SequenceStep {
  KvCache* cache = nullptr;         // holds positions [0, start_pos); receives the new ones
  int64_t start_pos = 0;            // position of tokens[0]; at most cache->length()
  std::span<const int32_t> tokens;  // the new tokens, at least one
  LogitsMode logits_mode = LogitsMode::kLast;
  std::span<float> logits;  // sized for logits_mode (see above)
};

// Scratch buffers of a forward pass, sized for the largest batch seen and then reused, so the
// steady state allocates nothing. One per thread that calls Forward.
struct Activations {
  std::vector<float> x;       // [T, d] residual stream
  std::vector<float> xn;      // [T, d] normalised input of the current sub-block
  std::vector<float> qkv;     // [T, (H + 2 KV) * hd] fused projections
  std::vector<float> att;     // [T, H * hd] attention output
  std::vector<float> proj;    // [T, d] output of o_proj / down_proj before the residual add
  std::vector<float> up;      // [T, ff] GPT-2 or [T, 2 * ff] Llama
  std::vector<float> hidden;  // [T, ff] Llama's silu(gate) * up
  std::vector<float> last;    // [R, d] rows that need logits
  std::vector<float> logits;  // [R, V]
  std::vector<ops::AttentionSeq> seqs;  // [batch] attention views, rebuilt every layer
};

class Model {
 public:
  // Reads config.json and model.safetensors (or a sharded index) from `dir`.
  [[nodiscard]] static Result<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                                           const LoadOptions& options);
  // From an already opened weight file (tests, tools).
  [[nodiscard]] static Result<std::unique_ptr<Model>> FromWeightFile(const ModelConfig& config,
                                                                     const WeightFile& file,
                                                                     const LoadOptions& options);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  int num_threads() const { return pool_->num_threads(); }
  // The forward pass's threads, lent to callers for per-sequence work between forward steps
  // (the Engine samples on it) so that nothing else competes for the cores.
  ThreadPool& pool() const { return *pool_; }
  ops::WeightDType weight_dtype() const { return weight_dtype_; }
  // Llama's rotary tables; null for GPT-2.
  const ops::RopeTable* rope() const { return rope_ ? &*rope_ : nullptr; }

  // Runs the new tokens of every step through the model: appends their keys and values to
  // each step's cache (whose length becomes start_pos + tokens.size()) and writes the requested
  // logits. Validates everything first and changes nothing on error: InvalidArgument for a
  // token id outside the vocabulary, a position past the cache or the model's context, a gap
  // in a cache, a wrongly sized logits span, a cache of the wrong shape or used twice.
  [[nodiscard]] Status Forward(std::span<const SequenceStep> batch, Activations& act) const;

 private:
  Model(ModelConfig config, ModelWeights weights, std::optional<ops::RopeTable> rope,
        int num_threads);

  [[nodiscard]] Status Validate(std::span<const SequenceStep> batch) const;
  void Embed(std::span<const SequenceStep> batch, Activations& act) const;
  void Norm(std::span<const float> in, std::span<const float> w, std::span<const float> b,
            std::span<float> out) const;
  void AttentionBlock(int layer, std::span<const SequenceStep> batch, int64_t tokens,
                      Activations& act) const;
  void MlpBlock(int layer, int64_t tokens, Activations& act) const;
  void Logits(std::span<const SequenceStep> batch, Activations& act) const;

  ModelConfig config_;
  ModelWeights weights_;
  std::optional<ops::RopeTable> rope_;  // Llama only
  bool gelu_tanh_ = false;              // GPT-2 MLP: tanh approximation vs exact erf
  ops::WeightDType weight_dtype_ = ops::WeightDType::kF32;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace inferline::engine
