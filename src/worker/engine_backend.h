// EngineBackend: the ModelBackend over the built-in continuous-batching engine::Engine, and the
// product default of `inferline serve` / `inferline worker`. One Engine scheduler thread runs
// every admitted sequence through each batched model step; this adapter only translates:
// RequestMessage -> EngineRequest (worker/request_mapping.h), TokenEvent -> on_token (empty
// pieces skipped), EngineResult -> on_done, Cancel -> Engine::Cancel(id).
//
// The engine's callbacks run on its scheduler thread; the Worker's only queue work, so the
// batch is never held up by event or queue I/O.
//
// Thread-safety: every method may be called from any thread (the Engine is thread-safe).
#pragma once

#include <memory>

#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"
#include "worker/model_backend.h"

namespace inferline::worker {

class EngineBackend final : public ModelBackend {
 public:
  EngineBackend(std::shared_ptr<engine::Engine> engine,
                std::shared_ptr<const engine::Tokenizer> tokenizer);

  Result<std::unique_ptr<BackendHandle>> Submit(const protocol::RequestMessage& request,
                                                BackendCallbacks callbacks) override;
  int FreeSlots() const override;
  int ActiveSequences() const override;
  void Shutdown() override;

 private:
  std::shared_ptr<engine::Engine> engine_;
  std::shared_ptr<const engine::Tokenizer> tokenizer_;
};

}  // namespace inferline::worker
