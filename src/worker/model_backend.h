// ModelBackend: what runs a request's generation for the Worker (worker.h). Implementations:
// EngineBackend (the built-in continuous-batching engine::Engine), GeneratorBackend (one
// engine::Generator per slot on its own threads; a fallback), and an OpenAI-compatible upstream
// later. Tests use testing/fake_backend.h.
//
// Contract:
// - Submit either fails (no callback is ever called) or accepts the request; an accepted
//   request gets on_token zero or more times, then on_done exactly once, in that order, from
//   one backend thread at a time (any thread, possibly before Submit returns).
// - Callbacks must return quickly: the Worker only queues what they carry.
// - on_done's usage is what the request actually consumed, also when it was cancelled or
//   failed midway (prompt tokens count once the prompt went through the model).
// - BackendHandle::Cancel may be called from any thread, any number of times, also after
//   on_done (then it does nothing); it does not block. A cancelled request still gets on_done,
//   with finish_reason "cancelled" unless it had already finished.
// - FreeSlots is a hint: how many more requests the backend can start now without queueing
//   them behind running ones. The Worker consumes at most that many messages at a time.
// - Shutdown cancels what is running (each still gets on_done) and refuses new Submits.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"

namespace inferline::worker {

struct BackendResult {
  std::string output_text;
  std::string finish_reason;  // stop | length | cancelled | error
  protocol::Usage usage;
  double ttft_seconds = 0;  // from Submit to the first generated token (0 if none)
  Status error;             // not ok: the request failed (finish_reason "error")
};

struct BackendCallbacks {
  // A piece of newly final output text and the index (0-based) of the generated token that
  // completed it. Pieces concatenate to output_text. Empty pieces need not be reported.
  std::function<void(std::string_view text_piece, int token_index)> on_token;
  std::function<void(BackendResult result)> on_done;
};

class BackendHandle {
 public:
  virtual ~BackendHandle() = default;
  virtual void Cancel() = 0;
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;

  [[nodiscard]] virtual Result<std::unique_ptr<BackendHandle>> Submit(
      const protocol::RequestMessage& request, BackendCallbacks callbacks) = 0;
  virtual int FreeSlots() const = 0;
  // Sequences being generated right now (for inferline_engine_batch_size).
  virtual int ActiveSequences() const = 0;
  virtual void Shutdown() = 0;
};

}  // namespace inferline::worker
