// The serving engine: many concurrent generation requests over one loaded model, run by a
// continuous-batching scheduler.
//
// Shape (llama.cpp server's runtime, gemma.cpp's layering): ONE scheduler thread owns every
// slot (a KV cache allocated once at Create, plus the per-sequence sampler, stream decoder and
// stop-string filter). Submit and Cancel only post to the scheduler's inbox. Each scheduler
// step admits waiting requests into free slots, builds one batch of every decoding sequence
// (one token each) plus prefill chunks of joining sequences (bounded by max_batch_tokens and
// prefill_chunk_tokens, so running sequences keep streaming while a long prompt is read), runs
// ONE Model::Forward for the whole batch — the weights are read once per step, not once per
// sequence — then samples, detokenizes and checks the stop conditions of each sequence.
// Sequences join and leave at every step. When every slot is busy, requests wait in a FIFO
// (back-pressure); nothing is ever dropped.
//
// The engine knows nothing of HTTP, queues or metrics: results stream through callbacks, and
// the counters in EngineStats are for the caller to export.
//
// Determinism: each sequence has its own Sampler and seed, and the forward pass computes every
// row the same way whatever else is in the batch, so a request produces the same tokens alone,
// batched with others, or through the Generator.
//
// Thread-safety: every method may be called from any thread, except that Shutdown (and the
// destructor) must not be called from inside a callback. Callbacks run on the scheduler thread,
// one at a time; they must not block (queue the work elsewhere), and may call Submit and Cancel.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/model/model.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace inferline::engine {

struct EngineOptions {
  // Concurrent sequences; 0: as many as kv_budget_bytes holds at max_context (at most
  // kMaxSlots and at most max_batch_tokens).
  int max_slots = 0;
  int64_t kv_budget_bytes = 256 << 20;
  // Longest sequence (prompt + max_tokens) a slot holds; 0: the model's context.
  int max_context = 0;
  // Most prompt tokens of one sequence run in one step.
  int prefill_chunk_tokens = 256;
  // Most tokens (decoding sequences + prefill chunks) in one step.
  int max_batch_tokens = 512;
  // Threads that sample the sequences of a step in parallel: 0 = the model's own pool (the
  // forward pass's threads, LoadOptions::num_threads, idle while sampling runs); 1 = the
  // scheduler thread alone; n > 1 = a pool of n threads of the engine's own.
  int num_threads = 0;
  // End-of-sequence tokens; unset: the model config's eos_token_ids plus the tokenizer's eos.
  std::optional<std::vector<int32_t>> eos_ids;

  static constexpr int kMaxSlots = 256;
};

struct EngineRequest {
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  int max_tokens = 16;
  std::vector<std::string> stop;
  bool ignore_eos = false;  // keep going past EOS (benchmarks)
};

// One sampled token. `text` is the output text that became final with it (often empty: an
// unfinished UTF-8 character or the possible start of a stop string is held back). The texts of
// all events of a request concatenate to EngineResult::text, except after a cancel.
struct TokenEvent {
  int32_t token_id = 0;
  std::string text;
  int index = 0;  // 0-based position in the output
};

struct EngineResult {
  std::string text;  // cut before a stop string; never contains the EOS token's text
  std::vector<int32_t> output_ids;  // every sampled token, EOS / stop-completing one included
  std::string finish_reason;        // "stop" | "length" | "cancelled" | "error"
  int prompt_tokens = 0;
  int completion_tokens = 0;  // == output_ids.size()
  double queue_seconds = 0;   // Submit -> admitted into a slot
  double ttft_seconds = 0;    // Submit -> first token sampled (0 if none)
  double total_seconds = 0;   // Submit -> done
  Status error;               // set when finish_reason is "error"
};

struct EngineCallbacks {
  std::function<void(const TokenEvent&)> on_token;  // optional
  std::function<void(EngineResult)> on_done;        // exactly once per accepted request
};

// Counters since Create, for the caller's metrics. Read without locks; each field is exact,
// the set is not one atomic snapshot.
struct EngineStats {
  int slots = 0;
  int active = 0;   // sequences in slots
  int waiting = 0;  // accepted, not yet in a slot
  int64_t steps = 0;               // forward passes run
  int64_t batch_tokens_total = 0;  // tokens over all steps
  int64_t batch_sequences_total = 0;
  int last_batch_tokens = 0;
  int last_batch_sequences = 0;
  int64_t prompt_tokens_total = 0;      // prefilled
  int64_t completion_tokens_total = 0;  // sampled
  int64_t completed = 0;                // requests done (any finish reason)
};

class Scheduler;

class Engine {
 public:
  // InvalidArgument naming the option when the options cannot work (e.g. a budget too small
  // for one sequence at max_context). Allocates every slot's KV cache and starts the scheduler.
  [[nodiscard]] static Result<std::unique_ptr<Engine>> Create(
      std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
      const EngineOptions& options);
  ~Engine();  // Shutdown()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates the request (InvalidArgument naming the parameter: "prompt" for an empty prompt
  // or ids outside the vocabulary, "max_tokens" for < 1 or prompt + max_tokens beyond
  // max_context, "stop" for an empty stop string, the sampling parameter's name) and queues it.
  // Unavailable after Shutdown. Never blocks on the model; callbacks never run inside Submit.
  [[nodiscard]] Result<uint64_t> Submit(EngineRequest request, EngineCallbacks callbacks);

  // Ends the request at the next step (it frees its slot before the next forward pass):
  // on_done with finish_reason "cancelled" and the tokens produced so far. No-op for an unknown
  // or finished id.
  void Cancel(uint64_t id);

  // Slots not taken by an active or waiting request (what a consumer may still send now).
  int FreeSlots() const;
  int ActiveSequences() const;
  int Waiting() const;
  int Slots() const;
  int MaxContext() const;
  EngineStats Stats() const;

  // Cancels every request (on_done "cancelled") and joins the scheduler thread. Idempotent.
  void Shutdown();

 private:
  explicit Engine(std::unique_ptr<Scheduler> scheduler);

  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace inferline::engine
