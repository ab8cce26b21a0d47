#include "engine/batching/scheduler.h"

#include <algorithm>

#include "common/thread_name.h"

namespace inferline::engine {

Result<std::unique_ptr<Scheduler>> Scheduler::Create(std::shared_ptr<const Model> model,
                                                     std::shared_ptr<const Tokenizer> tokenizer,
                                                     SchedulerConfig config) {
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(model), std::move(tokenizer), config));
  s->caches_.reserve(config.slots);
  for (int i = 0; i < config.slots; ++i) {
    ASSIGN_OR_RETURN(auto cache, KvCache::Create(s->model_->config(), config.max_context));
    s->caches_.push_back(std::move(cache));
  }
  s->slots_.resize(config.slots);
  s->logits_.resize(static_cast<size_t>(config.slots) * s->model_->config().vocab_size);
  if (config.sample_threads > 1) {
    s->own_pool_ = std::make_unique<ThreadPool>(config.sample_threads);
    s->sample_pool_ = s->own_pool_.get();
  } else if (config.sample_threads == 0) {
    s->sample_pool_ = &s->model_->pool();
  }
  s->thread_ = std::thread([raw = s.get()] {
    NameThisThread("engine");
    raw->Run();
  });
  return s;
}

Scheduler::Scheduler(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                     SchedulerConfig config)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), config_(std::move(config)) {}

Scheduler::~Scheduler() { Shutdown(); }

Status Scheduler::Post(PendingRequest request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("the engine is shut down");
    waiting_count_.fetch_add(1, std::memory_order_relaxed);
    inbox_.push_back(std::move(request));
  }
  wake_.notify_one();
  return Status::Ok();
}

void Scheduler::Cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    cancels_.push_back(id);
  }
  wake_.notify_one();
}

void Scheduler::Shutdown() {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

EngineStats Scheduler::Stats() const {
  EngineStats s;
  s.slots = config_.slots;
  s.active = active();
  s.waiting = waiting();
  s.steps = steps_run_.load(std::memory_order_relaxed);
  s.batch_tokens_total = batch_tokens_.load(std::memory_order_relaxed);
  s.batch_sequences_total = batch_sequences_.load(std::memory_order_relaxed);
  s.last_batch_tokens = last_tokens_.load(std::memory_order_relaxed);
  s.last_batch_sequences = last_sequences_.load(std::memory_order_relaxed);
  s.prompt_tokens_total = prompt_tokens_.load(std::memory_order_relaxed);
  s.completion_tokens_total = completion_tokens_.load(std::memory_order_relaxed);
  s.completed = completed_.load(std::memory_order_relaxed);
  return s;
}

// ------------------------------------------------------------------------ scheduler thread

void Scheduler::Run() {
  std::vector<uint64_t> cancels;
  while (TakeInbox(cancels)) {
    ApplyCancels(cancels);
    Admit();
    if (!order_.empty()) Step();
  }
  CancelEverything();
}

bool Scheduler::TakeInbox(std::vector<uint64_t>& cancels) {
  std::vector<PendingRequest> incoming;
  cancels.clear();
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Work to do: new requests or cancels, active sequences to step, or waiting requests (the
    // step that just ran may have finished every active sequence and freed their slots).
    wake_.wait(lock, [&] {
      return stopping_ || !inbox_.empty() || !cancels_.empty() || !order_.empty() ||
             !waiting_.empty();
    });
    if (stopping_) return false;
    incoming.swap(inbox_);
    cancels.swap(cancels_);
  }
  for (PendingRequest& p : incoming) waiting_.push_back(std::move(p));
  return true;
}

void Scheduler::ApplyCancels(const std::vector<uint64_t>& cancels) {
  for (uint64_t id : cancels) {
    auto w = std::find_if(waiting_.begin(), waiting_.end(),
                          [id](const PendingRequest& p) { return p.id == id; });
    if (w != waiting_.end()) {
      PendingRequest p = std::move(*w);
      waiting_.erase(w);
      waiting_count_.fetch_sub(1, std::memory_order_relaxed);
      FinishWaiting(p, "cancelled");
      continue;
    }
    for (size_t slot : order_) {
      if (slots_[slot]->id() == id) {
        Release(slot, "cancelled");
        break;
      }
    }
  }
}

void Scheduler::Admit() {
  for (size_t slot = 0; slot < slots_.size() && !waiting_.empty(); ++slot) {
    if (slots_[slot]) continue;
    slots_[slot] = std::make_unique<Sequence>(std::move(waiting_.front()), caches_[slot].get(),
                                              *tokenizer_, config_.eos_ids);
    waiting_.pop_front();
    order_.push_back(slot);
    waiting_count_.fetch_sub(1, std::memory_order_relaxed);
    active_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Scheduler::Step() {
  const int64_t vocab = model_->config().vocab_size;
  prompt_left_.clear();
  for (size_t slot : order_) prompt_left_.push_back(slots_[slot]->prompt_left());
  const std::vector<PlannedStep> plan = PlanBatch(prompt_left_, config_.limits);

  steps_.clear();
  logit_slots_.clear();
  int64_t tokens = 0, prefilled = 0;
  for (const PlannedStep& p : plan) {
    const size_t slot = order_[p.sequence];
    Sequence& seq = *slots_[slot];
    SequenceStep step{seq.cache(), seq.cache()->length(), seq.NextTokens(p.tokens),
                      LogitsMode::kNone, {}};
    if (seq.NeedsLogitsAfter(p.tokens)) {
      step.logits_mode = LogitsMode::kLast;
      step.logits = std::span<float>(logits_).subspan(logit_slots_.size() * vocab, vocab);
      logit_slots_.push_back(slot);
    }
    if (prompt_left_[p.sequence] > 0) prefilled += p.tokens;
    tokens += p.tokens;
    steps_.push_back(step);
  }

  const Status st = model_->Forward(steps_, act_);
  steps_run_.fetch_add(1, std::memory_order_relaxed);
  batch_tokens_.fetch_add(tokens, std::memory_order_relaxed);
  batch_sequences_.fetch_add(static_cast<int64_t>(plan.size()), std::memory_order_relaxed);
  last_tokens_.store(static_cast<int>(tokens), std::memory_order_relaxed);
  last_sequences_.store(static_cast<int>(plan.size()), std::memory_order_relaxed);
  if (!st.ok()) {
    // Requests are validated at Submit, so this is a bug; fail the batch, keep serving.
    std::vector<size_t> failed;
    for (const PlannedStep& p : plan) failed.push_back(order_[p.sequence]);
    for (size_t slot : failed) Release(slot, "error", st);
    return;
  }
  prompt_tokens_.fetch_add(prefilled, std::memory_order_relaxed);

  SampleRows(logit_slots_.size());
  for (size_t r = 0; r < logit_slots_.size(); ++r) {
    completion_tokens_.fetch_add(1, std::memory_order_relaxed);
    if (slots_[logit_slots_[r]]->Accept(sampled_[r])) Release(logit_slots_[r], "");
  }
}

void Scheduler::SampleRows(size_t rows) {
  const int64_t vocab = model_->config().vocab_size;
  sampled_.resize(rows);
  auto sample = [&](int64_t begin, int64_t end, int /*worker*/) {
    for (int64_t r = begin; r < end; ++r) {
      std::span<float> row = std::span<float>(logits_).subspan(r * vocab, vocab);
      sampled_[r] = slots_[logit_slots_[r]]->SampleNext(row);
    }
  };
  if (sample_pool_ && rows > 1) {
    sample_pool_->ParallelFor(static_cast<int64_t>(rows), 1, sample);
  } else {
    sample(0, static_cast<int64_t>(rows), 0);
  }
}

void Scheduler::Release(size_t slot, const std::string& reason, Status error) {
  std::unique_ptr<Sequence> seq = std::move(slots_[slot]);
  order_.erase(std::find(order_.begin(), order_.end(), slot));
  active_.fetch_sub(1, std::memory_order_relaxed);
  completed_.fetch_add(1, std::memory_order_relaxed);
  // The slot is free before on_done runs, so a caller reacting to it sees the capacity.
  seq->Finish(reason, std::move(error));
}

void Scheduler::FinishWaiting(PendingRequest& p, const std::string& reason) {
  completed_.fetch_add(1, std::memory_order_relaxed);
  EngineResult r;
  r.finish_reason = reason;
  r.prompt_tokens = static_cast<int>(p.request.prompt_ids.size());
  r.total_seconds = r.queue_seconds =
      std::chrono::duration<double>(SteadyClock::now() - p.submitted).count();
  if (p.callbacks.on_done) p.callbacks.on_done(std::move(r));
}

void Scheduler::CancelEverything() {
  std::vector<PendingRequest> incoming;
  {
    std::lock_guard<std::mutex> lock(mu_);
    incoming.swap(inbox_);
    cancels_.clear();
  }
  for (PendingRequest& p : incoming) waiting_.push_back(std::move(p));
  while (!order_.empty()) Release(order_.front(), "cancelled");
  while (!waiting_.empty()) {
    PendingRequest p = std::move(waiting_.front());
    waiting_.pop_front();
    waiting_count_.fetch_sub(1, std::memory_order_relaxed);
    FinishWaiting(p, "cancelled");
  }
}

}  // namespace inferline::engine
