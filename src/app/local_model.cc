#include "app/local_model.h"

#include <chrono>
#include <filesystem>

#include "app/model_path.h"
#include "common/log.h"
#include "engine/engine.h"
#include "engine/io/model_config.h"
#include "queue/message.h"
#include "worker/engine_backend.h"
#include "worker/generator_backend.h"

namespace inferline::app {
namespace fs = std::filesystem;

Result<LocalModel> LoadLocalModel(const std::string& path, const std::string& name,
                                  int engine_threads, bool with_weights) {
  const fs::path dir = path.empty() ? fs::path(DefaultModelPath()) : fs::path(path);
  const auto start = std::chrono::steady_clock::now();
  LocalModel out;
  int64_t context_length = 0;
  if (with_weights) {
    Result<std::unique_ptr<engine::Model>> model =
        engine::Model::Load(dir, {.num_threads = engine_threads});
    if (!model.ok()) return model.status().Annotate("loading the model from " + dir.string());
    out.model = std::move(*model);
    context_length = out.model->config().max_positions;
  } else {
    Result<engine::ModelConfig> config = engine::LoadModelConfig(dir);
    if (!config.ok()) return config.status().Annotate("reading the model config in " + dir.string());
    context_length = config->max_positions;
  }
  Result<std::unique_ptr<engine::Tokenizer>> tok = engine::Tokenizer::Load(dir);
  if (!tok.ok()) return tok.status().Annotate("loading the tokenizer from " + dir.string());
  out.tokenizer = std::move(*tok);

  const fs::path canonical = fs::weakly_canonical(dir);
  out.served.name = name.empty() ? canonical.filename().string() : name;
  out.served.tokenizer = out.tokenizer;
  out.served.context_length = context_length;
  out.served.created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  if (context_length <= 0) return InvalidArgument("the model has no context length");
  RETURN_IF_ERROR(queue::ValidateQueueName(queue::RequestQueueName(out.served.name)));
  log::Info("model {} {} from {} in {:.0f} ms (context {} tokens)", out.served.name,
            with_weights ? "loaded" : "tokenizer loaded", canonical.string(),
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count(),
            context_length);
  return out;
}

Result<std::shared_ptr<worker::ModelBackend>> MakeLocalBackend(const LocalModel& model,
                                                               const std::string& backend,
                                                               int slots) {
  if (!model.model) return FailedPrecondition("the model was loaded without its weights");
  slots = slots > 0 ? slots : 1;
  std::shared_ptr<worker::ModelBackend> out;
  if (backend == "generator") {
    worker::GeneratorBackendOptions bo;
    bo.slots = slots;
    out = std::make_shared<worker::GeneratorBackend>(model.model, model.tokenizer, bo);
  } else {
    engine::EngineOptions eo;
    eo.max_slots = slots;
    Result<std::unique_ptr<engine::Engine>> eng =
        engine::Engine::Create(model.model, model.tokenizer, eo);
    if (!eng.ok()) return eng.status().Annotate("starting the engine");
    out = std::make_shared<worker::EngineBackend>(
        std::shared_ptr<engine::Engine>(std::move(*eng)), model.tokenizer);
  }
  log::Info("backend: {} with {} slots", backend, slots);
  return out;
}

}  // namespace inferline::app
