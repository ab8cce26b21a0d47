#include "engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "engine/batching/scheduler.h"

namespace inferline::engine {
namespace {

std::atomic<uint64_t> next_request_id{1};

std::vector<int32_t> DefaultEos(const Model& model, const Tokenizer& tokenizer) {
  std::vector<int32_t> eos(model.config().eos_token_ids.begin(),
                           model.config().eos_token_ids.end());
  if (auto id = tokenizer.eos_id(); id && std::find(eos.begin(), eos.end(), *id) == eos.end()) {
    eos.push_back(*id);
  }
  return eos;
}

// Bytes of one slot's KV cache at `context` positions (f32 keys and values, every layer).
int64_t SlotBytes(const ModelConfig& c, int64_t context) {
  return 2 * int64_t{c.num_layers} * c.num_kv_heads * c.head_dim * context *
         static_cast<int64_t>(sizeof(float));
}

Result<SchedulerConfig> Resolve(const Model& model, const Tokenizer& tokenizer,
                                const EngineOptions& o) {
  const ModelConfig& c = model.config();
  SchedulerConfig s;
  if (o.max_context < 0 || o.max_context > c.max_positions) {
    return InvalidArgument(fmt::format("max_context must be in [0, {}] (0: the model's), got {}",
                                       c.max_positions, o.max_context),
                           "max_context");
  }
  s.max_context = o.max_context == 0 ? static_cast<int>(c.max_positions) : o.max_context;
  if (o.prefill_chunk_tokens < 1) {
    return InvalidArgument("prefill_chunk_tokens must be at least 1", "prefill_chunk_tokens");
  }
  if (o.max_batch_tokens < 1) {
    return InvalidArgument("max_batch_tokens must be at least 1", "max_batch_tokens");
  }
  s.limits = {o.max_batch_tokens, o.prefill_chunk_tokens};
  if (o.max_slots < 0 || o.max_slots > EngineOptions::kMaxSlots) {
    return InvalidArgument(
        fmt::format("max_slots must be in [0, {}], got {}", EngineOptions::kMaxSlots, o.max_slots),
        "max_slots");
  }
  if (o.max_slots > 0) {
    s.slots = o.max_slots;
  } else {
    const int64_t per_slot = SlotBytes(c, s.max_context);
    const int64_t fit = o.kv_budget_bytes / per_slot;
    if (fit < 1) {
      return InvalidArgument(
          fmt::format("kv_budget_bytes {} is smaller than one sequence's KV cache ({} bytes at "
                      "max_context {}); raise the budget or lower max_context",
                      o.kv_budget_bytes, per_slot, s.max_context),
          "kv_budget_bytes");
    }
    s.slots = static_cast<int>(std::min<int64_t>(fit, EngineOptions::kMaxSlots));
  }
  // Every decoding sequence takes one token of the batch; more slots could never run at once.
  s.slots = std::min(s.slots, o.max_batch_tokens);
  if (o.num_threads < 0) return InvalidArgument("num_threads must be >= 0", "num_threads");
  s.sample_threads = o.num_threads;
  s.eos_ids = o.eos_ids ? *o.eos_ids : DefaultEos(model, tokenizer);
  return s;
}

Status ValidateRequest(const EngineRequest& r, const ModelConfig& c, int max_context) {
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
  if (total > max_context) {
    return InvalidArgument(
        fmt::format("this model's maximum context length is {} tokens, but {} were requested "
                    "({} in the prompt + {} max_tokens); reduce the prompt or max_tokens",
                    max_context, total, r.prompt_ids.size(), r.max_tokens),
        "max_tokens");
  }
  for (const std::string& s : r.stop) {
    if (s.empty()) return InvalidArgument("stop strings must not be empty", "stop");
  }
  return ValidateSamplingParams(r.sampling);
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(std::shared_ptr<const Model> model,
                                               std::shared_ptr<const Tokenizer> tokenizer,
                                               const EngineOptions& options) {
  if (!model || !tokenizer) return InvalidArgument("the engine needs a model and a tokenizer");
  ASSIGN_OR_RETURN(SchedulerConfig config, Resolve(*model, *tokenizer, options));
  ASSIGN_OR_RETURN(auto scheduler,
                   Scheduler::Create(std::move(model), std::move(tokenizer), std::move(config)));
  return std::unique_ptr<Engine>(new Engine(std::move(scheduler)));
}

Engine::Engine(std::unique_ptr<Scheduler> scheduler) : scheduler_(std::move(scheduler)) {}

Engine::~Engine() { Shutdown(); }

Result<uint64_t> Engine::Submit(EngineRequest request, EngineCallbacks callbacks) {
  const SchedulerConfig& c = scheduler_->config();
  RETURN_IF_ERROR(ValidateRequest(request, scheduler_->model_config(), c.max_context));
  PendingRequest p;
  p.id = next_request_id.fetch_add(1, std::memory_order_relaxed);
  p.request = std::move(request);
  p.callbacks = std::move(callbacks);
  p.submitted = SteadyClock::now();
  const uint64_t id = p.id;
  RETURN_IF_ERROR(scheduler_->Post(std::move(p)));
  return id;
}

void Engine::Cancel(uint64_t id) { scheduler_->Cancel(id); }

int Engine::FreeSlots() const {
  return std::max(0, scheduler_->config().slots - scheduler_->active() - scheduler_->waiting());
}
int Engine::ActiveSequences() const { return scheduler_->active(); }
int Engine::Waiting() const { return scheduler_->waiting(); }
int Engine::Slots() const { return scheduler_->config().slots; }
int Engine::MaxContext() const { return scheduler_->config().max_context; }
EngineStats Engine::Stats() const { return scheduler_->Stats(); }

void Engine::Shutdown() { scheduler_->Shutdown(); }

}  // namespace inferline::engine
