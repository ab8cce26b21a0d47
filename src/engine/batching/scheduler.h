// The continuous-batching scheduler behind Engine: one thread that owns every slot (KV cache +
// Sequence) and runs the step loop. Other threads only post to its inbox (new requests,
// cancellations) under a mutex and wake it through a condition variable.
//
// One iteration: take the inbox (new requests join the waiting FIFO; cancellations end their
// request, waiting or active, before anything else runs), admit waiting requests into free
// slots, plan one batch (see batch_plan.h), run ONE Model::Forward over it, sample every
// sequence that produced logits, stream its token, and free the slots of finished sequences —
// so sequences join and leave at every step. With nothing to run the thread sleeps.
//
// Thread-safety: Post, Cancel, Shutdown and the counters may be called from any thread;
// everything else runs on the scheduler thread. Shutdown must not be called from a callback.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "engine/batching/batch_plan.h"
#include "engine/batching/sequence.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#include "engine/ops/thread_pool.h"

namespace inferline::engine {

struct SchedulerConfig {
  int slots = 1;
  int max_context = 0;  // capacity of each slot's KV cache
  BatchPlanLimits limits;
  int sample_threads = 0;  // as EngineOptions::num_threads
  std::vector<int32_t> eos_ids;
};

class Scheduler {
 public:
  // Allocates every KV cache, then starts the thread.
  [[nodiscard]] static Result<std::unique_ptr<Scheduler>> Create(
      std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
      SchedulerConfig config);
  ~Scheduler();

  // Queues a validated request. Unavailable once shut down.
  [[nodiscard]] Status Post(PendingRequest request);
  void Cancel(uint64_t id);
  void Shutdown();

  const SchedulerConfig& config() const { return config_; }
  const ModelConfig& model_config() const { return model_->config(); }
  int active() const { return active_.load(std::memory_order_relaxed); }
  int waiting() const { return waiting_count_.load(std::memory_order_relaxed); }
  EngineStats Stats() const;

 private:
  Scheduler(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer,
            SchedulerConfig config);

  void Run();
  // Blocks until there is work; moves the inbox into waiting_ and returns the cancellations.
  // Returns false when shutting down.
  bool TakeInbox(std::vector<uint64_t>& cancels);
  void ApplyCancels(const std::vector<uint64_t>& cancels);
  void Admit();
  void Step();
  void SampleRows(size_t rows);
  // Frees `slot` and delivers the sequence's result.
  void Release(size_t slot, const std::string& reason, Status error = Status::Ok());
  void FinishWaiting(PendingRequest& p, const std::string& reason);
  void CancelEverything();

  const std::shared_ptr<const Model> model_;
  const std::shared_ptr<const Tokenizer> tokenizer_;
  const SchedulerConfig config_;

  // Guards inbox_, cancels_ and stopping_.
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<PendingRequest> inbox_;
  std::vector<uint64_t> cancels_;
  bool stopping_ = false;

  // Scheduler thread only.
  std::deque<PendingRequest> waiting_;
  std::vector<std::unique_ptr<KvCache>> caches_;  // [slots], allocated once
  std::vector<std::unique_ptr<Sequence>> slots_;  // [slots], null when free
  std::vector<size_t> order_;                     // occupied slots in admission order
  Activations act_;
  std::vector<float> logits_;  // [slots, vocab]
  std::vector<SequenceStep> steps_;
  std::vector<int64_t> prompt_left_;
  std::vector<size_t> logit_slots_;  // slot of each logits row
  std::vector<int32_t> sampled_;     // token drawn for each logits row
  std::unique_ptr<ThreadPool> own_pool_;  // sample_threads > 1
  ThreadPool* sample_pool_ = nullptr;     // null: sample on this thread

  // Written by the scheduler thread, read by anyone.
  std::atomic<int> active_{0};
  std::atomic<int> waiting_count_{0};  // incremented by Post, so it counts the inbox too
  std::atomic<int64_t> steps_run_{0}, batch_tokens_{0}, batch_sequences_{0};
  std::atomic<int> last_tokens_{0}, last_sequences_{0};
  std::atomic<int64_t> prompt_tokens_{0}, completion_tokens_{0}, completed_{0};

  std::mutex join_mu_;  // serialises Shutdown callers
  std::thread thread_;
};

}  // namespace inferline::engine
