#include "engine/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/batching/completion.h"

namespace inferline::engine {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<int32_t> DefaultEos(const Model& model, const Tokenizer& tokenizer) {
  std::vector<int32_t> eos(model.config().eos_token_ids.begin(),
                           model.config().eos_token_ids.end());
  if (auto id = tokenizer.eos_id(); id && std::find(eos.begin(), eos.end(), *id) == eos.end()) {
    eos.push_back(*id);
  }
  return eos;
}

}  // namespace

// ---------------------------------------------------------------------------- StopStringFilter

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

bool StopStringFilter::Add(std::string_view piece) {
  if (stopped_) return true;
  // A stop string cannot start before taken_: any such start would have been a held-back
  // suffix at the time, so only the untaken tail needs searching.
  text_.append(piece);
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, text_.find(s, taken_));
  if (first == std::string::npos) return false;
  text_.resize(first);
  stopped_ = true;
  return true;
}

size_t StopStringFilter::HeldBack() const {
  const std::string_view tail = std::string_view(text_).substr(taken_);
  size_t held = 0;
  for (const std::string& s : stops_) {
    for (size_t len = std::min(s.size() - 1, tail.size()); len > held; --len) {
      if (tail.ends_with(std::string_view(s).substr(0, len))) {
        held = len;
        break;
      }
    }
  }
  return held;
}

std::string StopStringFilter::TakeReady() {
  const size_t end = (stopped_ || finished_) ? text_.size() : text_.size() - HeldBack();
  std::string out = text_.substr(taken_, end - taken_);
  taken_ = end;
  return out;
}

// ---------------------------------------------------------------------------------- Generator

Generator::Generator(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer)
    : Generator(model, tokenizer, DefaultEos(*model, *tokenizer)) {}

Generator::Generator(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                     std::vector<int32_t> eos_ids)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), eos_ids_(std::move(eos_ids)) {}

Status Generator::Validate(const GenerateRequest& r) const {
  const ModelConfig& c = model_->config();
  if (r.prompt_ids.empty()) return InvalidArgument("the prompt is empty", "prompt");
  for (int32_t id : r.prompt_ids) {
    if (id < 0 || id >= c.vocab_size) {
      return InvalidArgument(
          fmt::format("prompt token id {} is outside the vocabulary [0, {})", id, c.vocab_size),
          "prompt");
    }
  }
  if (r.max_tokens < 1) {
    return InvalidArgument(fmt::format("max_tokens must be at least 1, got {}", r.max_tokens),
                           "max_tokens");
  }
  const int64_t total = static_cast<int64_t>(r.prompt_ids.size()) + r.max_tokens;
  if (total > c.max_positions) {
    return InvalidArgument(
        fmt::format("this model's maximum context length is {} tokens, but {} were requested "
                    "({} in the prompt + {} max_tokens); reduce the prompt or max_tokens",
                    c.max_positions, total, r.prompt_ids.size(), r.max_tokens),
        "max_tokens");
  }
  for (const std::string& s : r.stop) {
    if (s.empty()) return InvalidArgument("stop strings must not be empty", "stop");
  }
  return ValidateSamplingParams(r.sampling);
}

Result<KvCache*> Generator::CacheFor(int64_t capacity) {
  if (!cache_ || cache_->capacity() < capacity) {
    cache_.reset();  // free the old one before allocating its successor
    ASSIGN_OR_RETURN(cache_, KvCache::Create(model_->config(), capacity));
  }
  cache_->Truncate(0);
  return cache_.get();
}

Result<GenerateResult> Generator::Generate(const GenerateRequest& r, const TextCallback& on_text,
                                           const std::atomic<bool>* cancel) {
  RETURN_IF_ERROR(Validate(r));
  const int vocab = model_->config().vocab_size;
  const int64_t n_prompt = static_cast<int64_t>(r.prompt_ids.size());
  GenerateResult result;
  result.prompt_tokens = static_cast<int>(n_prompt);
  auto cancelled = [&] { return cancel != nullptr && cancel->load(std::memory_order_relaxed); };
  if (cancelled()) {
    result.finish_reason = "cancelled";
    return result;
  }
  ASSIGN_OR_RETURN(KvCache * cache, CacheFor(n_prompt + r.max_tokens));
  logits_.resize(vocab);

  // Prefill: the whole prompt in one step; logits of its last token.
  const auto t0 = Clock::now();
  SequenceStep step{cache, 0, r.prompt_ids, LogitsMode::kLast, logits_};
  RETURN_IF_ERROR(model_->Forward({&step, 1}, act_));
  result.prefill_seconds = SecondsSince(t0);

  // Decode: sample, then the stop rules and detokenization shared with the batching Engine
  // (batching/completion.h), then run the new token.
  const auto t1 = Clock::now();
  Sampler sampler(r.sampling);
  Completion completion(*tokenizer_, r.stop, eos_ids_, r.max_tokens, r.ignore_eos);
  std::vector<int32_t> history = r.prompt_ids;  // for the repetition penalty
  auto emit = [&](const std::string& text) {
    if (on_text && !text.empty()) on_text(text);
  };
  for (;;) {
    const int32_t next = sampler.Sample(logits_, history);
    history.push_back(next);
    Completion::Update u = completion.Add(next);
    emit(u.text);
    if (u.finished) break;
    if (cancelled()) {
      emit(completion.Abort("cancelled"));
      break;
    }
    step = SequenceStep{cache, cache->length(), std::span(&history.back(), 1), LogitsMode::kLast,
                        logits_};
    RETURN_IF_ERROR(model_->Forward({&step, 1}, act_));
  }
  result.output_ids = completion.output_ids();
  result.text = completion.text();
  result.finish_reason = completion.finish_reason();
  result.decode_seconds = SecondsSince(t1);
  result.completion_tokens = static_cast<int>(result.output_ids.size());
  return result;
}

Result<TextScore> Generator::Score(std::span<const int32_t> ids, int chunk) {
  const ModelConfig& c = model_->config();
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n < 2) return InvalidArgument("scoring needs at least 2 tokens", "prompt");
  if (n > c.max_positions) {
    return InvalidArgument(
        fmt::format("{} tokens exceed the model's context of {}", n, c.max_positions), "prompt");
  }
  if (chunk < 1) return InvalidArgument("chunk must be positive");
  ASSIGN_OR_RETURN(KvCache * cache, CacheFor(n));
  TextScore score;
  // Row i of a chunk starting at s predicts token s + i + 1; the last token predicts nothing.
  for (int64_t s = 0; s < n - 1; s += chunk) {
    const int64_t len = std::min<int64_t>(chunk, n - 1 - s);
    logits_.resize(len * c.vocab_size);
    SequenceStep step{cache, s, ids.subspan(s, len), LogitsMode::kAll, logits_};
    RETURN_IF_ERROR(model_->Forward({&step, 1}, act_));
    for (int64_t i = 0; i < len; ++i) {
      const std::span<const float> row(logits_.data() + i * c.vocab_size, c.vocab_size);
      const double mx = *std::max_element(row.begin(), row.end());
      double sum = 0;
      for (float v : row) sum += std::exp(v - mx);
      score.token_logprobs.push_back(row[ids[s + i + 1]] - mx - std::log(sum));
    }
  }
  for (double lp : score.token_logprobs) score.total_logprob += lp;
  score.mean_nll = -score.total_logprob / static_cast<double>(score.token_logprobs.size());
  score.perplexity = std::exp(score.mean_nll);
  return score;
}

Result<TextScore> Generator::ScoreText(std::string_view text, int chunk) {
  const std::vector<int32_t> ids = tokenizer_->Encode(text, /*add_special_tokens=*/true);
  return Score(ids, chunk);
}

}  // namespace inferline::engine
