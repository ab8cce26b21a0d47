// Text generation for ONE sequence: prefill the prompt, then sample token by token until EOS, a
// stop string, max_tokens or cancellation, streaming the text as it forms.
//
// The Generator is the simple front end over Model + Sampler + StreamDecoder, used by the
// `generate` command and by tests. It owns the per-sequence state (KV cache, activations) and
// shares the Model and Tokenizer, so several Generators on several threads can serve from one
// loaded model. The continuous-batching Engine (engine.h: one scheduler driving many sequences
// through Model::Forward at once) shares its per-token stop rules (batching/completion.h), so
// both give the same tokens and text for the same request.
//
// Stop strings: the output text is cut just before the first occurrence of any stop string, and
// text that might be the beginning of a stop string is held back from the stream until the next
// tokens decide it. The concatenation of every on_text piece always equals result.text.
//
// Token accounting: output_ids holds every sampled token, including an EOS token or a token that
// completed a stop string, and completion_tokens == output_ids.size(); that count is what the
// sequence cost. The EOS token's text is not part of result.text.
//
// Thread-safety: a Generator is used by one thread at a time. The cancel flag may be set from
// any thread; it is checked before every model step.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/model/kv_cache.h"
#include "engine/model/model.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {

struct GenerateRequest {
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  int max_tokens = 16;
  std::vector<std::string> stop;
  bool ignore_eos = false;
};

struct GenerateResult {
  std::vector<int32_t> output_ids;
  std::string text;
  std::string finish_reason;  // "stop" | "length" | "cancelled"
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Per-token log-likelihood of a token sequence under the model.
struct TextScore {
  std::vector<double> token_logprobs;  // [n - 1]: log p(ids[i + 1] | ids[0..i])
  double total_logprob = 0;
  double mean_nll = 0;    // -total_logprob / (n - 1)
  double perplexity = 0;  // exp(mean_nll)
};

using TextCallback = std::function<void(std::string_view piece)>;

// Watches a growing text for stop strings and decides which part of it is final. Used by
// Completion (batching/completion.h), one per sequence.
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);

  // Appends newly decoded text. Returns true once a stop string is complete; the text is then
  // cut just before its first occurrence and later calls are ignored.
  bool Add(std::string_view piece);
  // No more text will come: nothing needs holding back any longer.
  void Finish() { finished_ = true; }
  // The final text not yet taken: everything except a tail that could still grow into a stop
  // string (all of it after a stop or Finish).
  std::string TakeReady();

  bool stopped() const { return stopped_; }
  const std::string& text() const { return text_; }

 private:
  // Length of the longest suffix of text_ (after taken_) that is a proper prefix of a stop.
  size_t HeldBack() const;

  std::vector<std::string> stops_;
  std::string text_;
  size_t taken_ = 0;  // bytes of text_ already handed out
  bool stopped_ = false;
  bool finished_ = false;
};

class Generator {
 public:
  // EOS tokens are the model config's eos_token_ids plus the tokenizer's eos_id.
  Generator(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer);
  // As above with an explicit EOS set (e.g. from generation_config.json).
  Generator(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
            std::vector<int32_t> eos_ids);

  // Runs one request. InvalidArgument naming the parameter for an empty prompt or one with ids
  // outside the vocabulary ("prompt"), max_tokens < 1 or prompt + max_tokens beyond the model's
  // context ("max_tokens"), an empty stop string ("stop") and bad sampling values. `on_text`
  // (optional) receives the text as it becomes final; `cancel` (optional) stops the loop with
  // finish_reason "cancelled".
  [[nodiscard]] Result<GenerateResult> Generate(const GenerateRequest& request,
                                                const TextCallback& on_text = {},
                                                const std::atomic<bool>* cancel = nullptr);

  // Log-likelihood of `ids` (at least 2, at most the context), prefilled `chunk` tokens at a
  // time so that the logits buffer stays small for large vocabularies.
  [[nodiscard]] Result<TextScore> Score(std::span<const int32_t> ids, int chunk = 64);
  // Score of the tokenizer's encoding of `text` (with special tokens such as BOS).
  [[nodiscard]] Result<TextScore> ScoreText(std::string_view text, int chunk = 64);

  const std::vector<int32_t>& eos_ids() const { return eos_ids_; }

 private:
  [[nodiscard]] Status Validate(const GenerateRequest& request) const;
  // A cache with room for `capacity` positions, reusing the previous one when it is big enough.
  [[nodiscard]] Result<KvCache*> CacheFor(int64_t capacity);

  std::shared_ptr<const Model> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::vector<int32_t> eos_ids_;
  std::unique_ptr<KvCache> cache_;
  Activations act_;
  std::vector<float> logits_;  // [vocab] (or [chunk, vocab] while scoring)
};

}  // namespace inferline::engine
