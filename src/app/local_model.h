// Loading the model a process serves, shared by `serve` (everything), `gateway` (only the
// tokenizer and the context length, to count and check prompts) and `worker` (the weights too,
// behind a ModelBackend).
//
// Thread-safety: functions called on the main thread at start-up; what they return is
// immutable (model, tokenizer) or thread-safe (the backend).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "gateway/model_catalog.h"
#include "worker/model_backend.h"

namespace inferline::app {

struct LocalModel {
  gateway::ServedModel served;                     // name, tokenizer, context length
  std::shared_ptr<const engine::Model> model;       // null when loaded without weights
  std::shared_ptr<const engine::Tokenizer> tokenizer;
};

// `path` empty: the shipped model; `name` empty: the folder's name. With with_weights false
// only config.json and tokenizer.json are read.
[[nodiscard]] Result<LocalModel> LoadLocalModel(const std::string& path, const std::string& name,
                                                int engine_threads, bool with_weights);

// "batching": the continuous-batching engine; "generator": one Generator per slot.
[[nodiscard]] Result<std::shared_ptr<worker::ModelBackend>> MakeLocalBackend(
    const LocalModel& model, const std::string& backend, int slots);

}  // namespace inferline::app
