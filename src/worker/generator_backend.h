// GeneratorBackend: a ModelBackend that runs engine::Generator, one sequence at a time per slot,
// on `slots` threads of its own. Each slot owns its Generator (KV cache, activations); all share
// the model and tokenizer. Simple and robust, but each slot reads the weights on its own, so
// it scales worse than the batching EngineBackend, which is the product default; this one is
// the fallback and a reference in tests.
//
// Submit queues the request; FreeSlots is slots minus running and queued requests. Cancel
// sets the request's flag, which the Generator checks before every model step; a request
// cancelled while still queued ends without running (usage 0). Token indices in on_token count
// the pieces of text, since the Generator reports text, not tokens.
//
// Thread-safety: every method may be called from any thread, except that Shutdown and the
// destructor must not be called from a callback. mu_ guards queue_, active_ and shutdown_.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/generator.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "worker/model_backend.h"

namespace inferline::worker {

struct GeneratorBackendOptions {
  int slots = 2;                 // concurrent sequences (threads), >= 1
  std::vector<int32_t> eos_ids;  // empty: the model config's and the tokenizer's
};

class GeneratorBackend final : public ModelBackend {
 public:
  GeneratorBackend(std::shared_ptr<const engine::Model> model,
                   std::shared_ptr<const engine::Tokenizer> tokenizer,
                   GeneratorBackendOptions options = {});
  ~GeneratorBackend() override;

  Result<std::unique_ptr<BackendHandle>> Submit(const protocol::RequestMessage& request,
                                                BackendCallbacks callbacks) override;
  int FreeSlots() const override;
  int ActiveSequences() const override;
  void Shutdown() override;

  struct Job;

 private:
  void RunSlot();
  void RunJob(engine::Generator& generator, Job& job);

  std::shared_ptr<const engine::Model> model_;
  std::shared_ptr<const engine::Tokenizer> tokenizer_;
  GeneratorBackendOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::shared_ptr<Job>> running_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace inferline::worker
