// The OpenAI-compatible wire format spoken to an upstream model server (vLLM, llama.cpp's
// server, TGI's OpenAI API): the streaming request built from a RequestMessage, the parse of
// each server-sent chunk, and the bits of an error response the backend needs.
//
// Requests always stream (`stream: true`) and ask for a final usage chunk
// (`stream_options.include_usage`). top_k and repetition_penalty are vLLM's extra fields and are
// only sent when set, so servers that reject unknown fields still take ordinary requests.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/messages.h"

namespace inferline::worker {

struct UpstreamRequest {
  std::string path;  // "/completions" or "/chat/completions", relative to the base URL
  std::string body;  // JSON
  bool chat = false;
};

// Chat requests that carry their messages go to /chat/completions (the upstream applies its own
// template); everything else to /completions with the prompt. `model` is the upstream's name.
UpstreamRequest BuildUpstreamRequest(const protocol::RequestMessage& m, std::string_view model);

struct UpstreamChunk {
  std::string text;           // choices[0].text, or choices[0].delta.content for chat
  std::string finish_reason;  // empty until the choice ends
  std::optional<protocol::Usage> usage;
};

// Parses the data of one event (other than "[DONE]"). A chunk that is not JSON is DataLoss; an
// error object streamed in place of a chunk is Internal with the upstream's message.
Result<UpstreamChunk> ParseUpstreamChunk(std::string_view data, bool chat);

// The message of an error response: OpenAI's {"error":{"message":..}}, TGI's {"error":".."},
// vLLM's {"message":..}; otherwise the body itself, cut to a readable length.
std::string UpstreamErrorMessage(std::string_view body);

// A Retry-After value: delay-seconds or an HTTP date. nullopt when empty or unreadable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// The platform's finish reasons: "length" stays, any other ending ("stop", "eos", tool calls,
// an upstream without one) is "stop".
std::string NormalizeFinishReason(std::string_view upstream);

}  // namespace inferline::worker
