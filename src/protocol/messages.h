// Wire formats shared by the gateway, the workers and the collector: the request message put on
// `inference_requests.<model>`, the result message put on `inference_results`, and the events
// shown to SSE listeners. JSON with a `schema` version field, so old and new processes can
// share a queue during a rolling upgrade (a message with an unknown schema is refused, not
// misread).
//
// Thread-safety: plain values.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace inferline::protocol {

inline constexpr int kSchemaVersion = 1;

enum class RequestKind { kCompletion, kChat };
std::string_view RequestKindName(RequestKind k);

struct ChatMessage {
  std::string role;
  std::string content;
};

// Generation parameters after validation (OpenAI names; top_k and repetition_penalty as vLLM).
struct GenerationParams {
  int max_tokens = 16;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;  // 0 = off
  double repetition_penalty = 1.0;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
};

struct RequestMessage {
  std::string request_id;
  std::string user_id;
  std::string key_id;
  std::string model;
  RequestKind kind = RequestKind::kCompletion;
  std::string prompt;                 // completion: the prompt; chat: the rendered template
  std::vector<ChatMessage> messages;  // chat only, for upstreams that take messages
  std::vector<int32_t> prompt_ids;    // as counted by the gateway with the model's tokenizer
  GenerationParams params;
  int64_t prompt_tokens = 0;
  int64_t reserved_tokens = 0;
  int priority = 0;
  int64_t created_at_ms = 0;  // unix ms
  int64_t deadline_ms = 0;    // unix ms; 0 = none
  bool stream = false;
  int attempt = 0;
};

enum class FinalStatus { kCompleted, kFailed, kCancelled, kExpired };
std::string_view FinalStatusName(FinalStatus s);
Result<FinalStatus> ParseFinalStatus(std::string_view s);

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total() const { return prompt_tokens + completion_tokens; }
};

struct Timings {
  double queue_wait_seconds = 0;
  double time_to_first_token_seconds = 0;
  double generation_seconds = 0;
};

struct ResultMessage {
  std::string request_id;
  std::string user_id;
  std::string model;
  FinalStatus status = FinalStatus::kCompleted;
  std::string output_text;
  std::string finish_reason;  // stop | length | cancelled | error
  Usage usage;
  Timings timings;
  std::string error_code;
  std::string error_message;
  std::string worker_id;
};

// The parameters as a JSON object, appended to `out` (the queue message and the stored record).
void AppendJson(std::string& out, const GenerationParams& p);
// [{"role":...,"content":...},...]
void AppendJson(std::string& out, const std::vector<ChatMessage>& messages);
Result<GenerationParams> GenerationParamsFromJson(const boost::json::value& v);

std::string Serialize(const RequestMessage& m);
Result<RequestMessage> ParseRequestMessage(std::string_view bytes);

std::string Serialize(const ResultMessage& m);
Result<ResultMessage> ParseResultMessage(std::string_view bytes);

}  // namespace inferline::protocol
