#include "worker/engine_backend.h"

#include "worker/request_mapping.h"

namespace inferline::worker {
namespace {

class EngineHandle final : public BackendHandle {
 public:
  EngineHandle(std::shared_ptr<engine::Engine> engine, uint64_t id)
      : engine_(std::move(engine)), id_(id) {}
  void Cancel() override { engine_->Cancel(id_); }

 private:
  std::shared_ptr<engine::Engine> engine_;
  uint64_t id_;
};

BackendResult ToBackendResult(engine::EngineResult r) {
  BackendResult out;
  out.output_text = std::move(r.text);
  out.finish_reason = std::move(r.finish_reason);
  // A request that ended before it sampled a token (cancelled while waiting for a slot, or
  // refused) is not billed for its prompt, as with GeneratorBackend.
  out.usage.prompt_tokens = r.completion_tokens > 0 ? r.prompt_tokens : 0;
  out.usage.completion_tokens = r.completion_tokens;
  out.ttft_seconds = r.ttft_seconds;
  out.error = std::move(r.error);
  if (out.finish_reason == "error" && out.error.ok()) {
    out.error = Internal("the engine reported an error without a cause");
  }
  return out;
}

}  // namespace

EngineBackend::EngineBackend(std::shared_ptr<engine::Engine> engine,
                             std::shared_ptr<const engine::Tokenizer> tokenizer)
    : engine_(std::move(engine)), tokenizer_(std::move(tokenizer)) {}

Result<std::unique_ptr<BackendHandle>> EngineBackend::Submit(
    const protocol::RequestMessage& request, BackendCallbacks callbacks) {
  ASSIGN_OR_RETURN(GenerationInputs in, ToGenerationInputs(request, *tokenizer_));
  engine::EngineRequest req;
  req.prompt_ids = std::move(in.prompt_ids);
  req.sampling = in.sampling;
  req.max_tokens = in.max_tokens;
  req.stop = std::move(in.stop);
  engine::EngineCallbacks cb;
  cb.on_token = [on_token = callbacks.on_token](const engine::TokenEvent& ev) {
    if (on_token && !ev.text.empty()) on_token(ev.text, ev.index);
  };
  cb.on_done = [on_done = std::move(callbacks.on_done)](engine::EngineResult r) {
    on_done(ToBackendResult(std::move(r)));
  };
  ASSIGN_OR_RETURN(uint64_t id, engine_->Submit(std::move(req), std::move(cb)));
  return std::unique_ptr<BackendHandle>(std::make_unique<EngineHandle>(engine_, id));
}

int EngineBackend::FreeSlots() const { return engine_->FreeSlots(); }

int EngineBackend::ActiveSequences() const { return engine_->ActiveSequences(); }

void EngineBackend::Shutdown() { engine_->Shutdown(); }

}  // namespace inferline::worker
