#include "worker/request_mapping.h"

namespace inferline::worker {

Result<GenerationInputs> ToGenerationInputs(const protocol::RequestMessage& request,
                                            const engine::Tokenizer& tokenizer) {
  GenerationInputs in;
  in.prompt_ids = request.prompt_ids;
  if (in.prompt_ids.empty() && !request.prompt.empty()) {
    in.prompt_ids = tokenizer.Encode(request.prompt, true);
  }
  if (in.prompt_ids.empty()) return InvalidArgument("the prompt is empty", "prompt");
  if (request.params.max_tokens < 1) {
    return InvalidArgument("max_tokens must be at least 1", "max_tokens");
  }
  const protocol::GenerationParams& p = request.params;
  in.max_tokens = p.max_tokens;
  in.sampling.temperature = static_cast<float>(p.temperature);
  in.sampling.top_p = static_cast<float>(p.top_p);
  in.sampling.top_k = p.top_k;
  in.sampling.repetition_penalty = static_cast<float>(p.repetition_penalty);
  in.sampling.presence_penalty = static_cast<float>(p.presence_penalty);
  in.sampling.frequency_penalty = static_cast<float>(p.frequency_penalty);
  in.sampling.seed = p.seed;
  RETURN_IF_ERROR(engine::ValidateSamplingParams(in.sampling));
  for (const std::string& s : p.stop) {
    if (s.empty()) return InvalidArgument("stop strings must not be empty", "stop");
  }
  in.stop = p.stop;
  return in;
}

}  // namespace inferline::worker
