// Parsing and validation of the generation request bodies the gateway accepts:
// OpenAI's /v1/completions and /v1/chat/completions, the asynchronous /v1/requests (either
// shape plus `priority` and `timeout_seconds`), and the original system's /api/gateway body.
//
// Every rule lives here, so each endpoint refuses bad input the same way: an InvalidArgument
// whose message says what is wrong and whose param names the field, which the HTTP layer turns
// into OpenAI's `{"error": {"message", "type", "param", "code"}}` with status 400.
// Token counting and context checks happen later, in admission, where the tokenizer is known.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/messages.h"

namespace inferline::gateway {

struct ParseLimits {
  size_t max_prompt_chars = 1 << 20;  // characters of prompt / all message contents
  int max_stop_sequences = 4;
  size_t max_stop_chars = 256;
  size_t max_messages = 1024;
};

// What a caller asked for, before tokenization.
struct GenerationRequest {
  protocol::RequestKind kind = protocol::RequestKind::kCompletion;
  std::string model;
  std::string prompt;                           // completion
  std::vector<protocol::ChatMessage> messages;  // chat
  protocol::GenerationParams params;            // max_tokens filled only when given
  bool max_tokens_given = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;            // OpenAI's end-user tag (not an identity)
  int priority = 0;
  std::optional<double> timeout_seconds;
  bool echo = false;
};

enum class BodyShape {
  kCompletion,  // POST /v1/completions
  kChat,        // POST /v1/chat/completions
  kAsync,       // POST /v1/requests: prompt or messages, plus priority/timeout_seconds
  kSeed,        // POST /api/gateway: {prompt, max_length, temperature, top_p, top_k, ...}
};

Result<GenerationRequest> ParseGenerationBody(std::string_view body, BodyShape shape,
                                              const ParseLimits& limits = {});

}  // namespace inferline::gateway
