// The `data` payloads of a request's events (events/event.h), shared by whoever publishes them
// (gateway: queued, and cancelled on DELETE; worker: started, token; collector: the terminal
// event) and whoever reads them (the gateway's SSE and blocking handlers). JSON objects:
//
//   queued     {"model", "prompt_tokens", "reserved_tokens"}
//   started    {"worker_id", "attempt", "queue_wait_seconds"}
//              A second `started` on one stream means the generation restarted (redelivery
//              after a crash or a lost lease): a listener drops the text it got before.
//   token      {"index", "text"}  text generated since the previous token event; index is the
//              position (0-based) of its first token among the generated tokens. Pieces arrive
//              in order and never overlap; their concatenation is the output text.
//   completed  {"text", "finish_reason", "usage": {"prompt_tokens", "completion_tokens",
//   failed      "total_tokens"}, "error": {"code", "message"}}   (error only when not completed)
//   cancelled
//   expired
//
// Parsing is lenient about missing optional fields (so a listener copes with an older writer)
// and strict about types.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"

namespace inferline::protocol {

struct QueuedEventData {
  std::string model;
  int64_t prompt_tokens = 0;
  int64_t reserved_tokens = 0;
};

struct StartedEventData {
  std::string worker_id;
  int attempt = 1;  // the delivery that started it (1 on the first)
  double queue_wait_seconds = 0;
};

struct TokenEventData {
  int64_t index = 0;
  std::string text;
};

struct TerminalEventData {
  FinalStatus status = FinalStatus::kCompleted;  // which terminal event (not serialized)
  std::string text;
  std::string finish_reason;
  Usage usage;
  std::string error_code;  // empty for completed
  std::string error_message;
};

std::string Serialize(const QueuedEventData& d);
std::string Serialize(const StartedEventData& d);
std::string Serialize(const TokenEventData& d);
std::string Serialize(const TerminalEventData& d);

Result<QueuedEventData> ParseQueuedEventData(std::string_view json);
Result<StartedEventData> ParseStartedEventData(std::string_view json);
Result<TokenEventData> ParseTokenEventData(std::string_view json);
// `status` comes from the event's type, which the payload does not repeat.
Result<TerminalEventData> ParseTerminalEventData(std::string_view json, FinalStatus status);

}  // namespace inferline::protocol
