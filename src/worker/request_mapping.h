// Turns a queued RequestMessage into the inputs of the built-in engine: prompt token ids,
// sampling parameters, max_tokens and stop strings. Shared by EngineBackend and
// GeneratorBackend so both read a request the same way.
//
// The gateway counts prompt tokens with the model's tokenizer and puts the ids in the message;
// they are used as they are, so that what was reserved and what is billed agree. A message
// without ids (an older gateway, or one that does not tokenize) is encoded here with special
// tokens, as the gateway would have.
//
// presence_penalty and frequency_penalty are accepted by the API but not implemented by the
// built-in engine; they are ignored here.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "protocol/messages.h"

namespace inferline::worker {

struct GenerationInputs {
  std::vector<int32_t> prompt_ids;
  engine::SamplingParams sampling;
  int max_tokens = 16;
  std::vector<std::string> stop;
};

// InvalidArgument naming the field for an empty prompt, max_tokens < 1 or bad sampling values.
[[nodiscard]] Result<GenerationInputs> ToGenerationInputs(const protocol::RequestMessage& request,
                                                          const engine::Tokenizer& tokenizer);

}  // namespace inferline::worker
