#include "engine/batching/sequence.h"

#include <algorithm>

namespace inferline::engine {
namespace {

double Seconds(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

Sequence::Sequence(PendingRequest p, KvCache* cache, const Tokenizer& tokenizer,
                   const std::vector<int32_t>& eos_ids)
    : id_(p.id),
      callbacks_(std::move(p.callbacks)),
      cache_(cache),
      prompt_size_(static_cast<int64_t>(p.request.prompt_ids.size())),
      tokens_(std::move(p.request.prompt_ids)),
      sampler_(p.request.sampling),
      completion_(tokenizer, std::move(p.request.stop), eos_ids, p.request.max_tokens,
                  p.request.ignore_eos),
      submitted_(p.submitted),
      admitted_(SteadyClock::now()) {
  cache_->Truncate(0);
  tokens_.reserve(tokens_.size() + p.request.max_tokens);
}

int64_t Sequence::prompt_left() const { return std::max<int64_t>(0, prompt_size_ - cache_->length()); }

std::span<const int32_t> Sequence::NextTokens(int64_t n) const {
  return std::span<const int32_t>(tokens_).subspan(cache_->length(), n);
}

bool Sequence::NeedsLogitsAfter(int64_t n) const {
  return cache_->length() + n == static_cast<int64_t>(tokens_.size());
}

int32_t Sequence::SampleNext(std::span<float> logits) { return sampler_.Sample(logits, tokens_); }

bool Sequence::Accept(int32_t token) {
  if (!has_first_token_) {
    has_first_token_ = true;
    first_token_ = SteadyClock::now();
  }
  tokens_.push_back(token);
  Completion::Update u = completion_.Add(token);
  if (callbacks_.on_token) {
    callbacks_.on_token(TokenEvent{
        token, std::move(u.text), static_cast<int>(completion_.output_ids().size()) - 1});
  }
  return u.finished;
}

void Sequence::Finish(const std::string& reason, Status error) {
  if (!completion_.finished()) completion_.Abort(reason);
  const auto now = SteadyClock::now();
  EngineResult r;
  r.text = completion_.text();
  r.output_ids = completion_.output_ids();
  r.finish_reason = completion_.finish_reason();
  r.prompt_tokens = static_cast<int>(prompt_size_);
  r.completion_tokens = static_cast<int>(r.output_ids.size());
  r.queue_seconds = Seconds(submitted_, admitted_);
  r.ttft_seconds = has_first_token_ ? Seconds(submitted_, first_token_) : 0.0;
  r.total_seconds = Seconds(submitted_, now);
  r.error = std::move(error);
  if (callbacks_.on_done) callbacks_.on_done(std::move(r));
}

}  // namespace inferline::engine
