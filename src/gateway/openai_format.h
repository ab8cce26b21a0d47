// The response documents of OpenAI's completions and chat completions APIs, built exactly as
// the official SDKs parse them: `id`, `object` ("text_completion", "chat.completion",
// "chat.completion.chunk"), `created`, `model`, `choices[{index, text | message | delta,
// logprobs: null, finish_reason}]` and `usage{prompt_tokens, completion_tokens, total_tokens}`.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.h"
#include "store/types.h"

namespace inferline::gateway {

struct ResponseHeader {
  std::string id;
  int64_t created = 0;  // unix seconds
  std::string model;
  protocol::RequestKind kind = protocol::RequestKind::kCompletion;
};

boost::json::value UsageJson(const std::optional<store::TokenUsage>& usage);

// A whole (non-streamed) response.
boost::json::object CompletionResponse(const ResponseHeader& h, std::string_view text,
                                       std::string_view finish_reason,
                                       const std::optional<store::TokenUsage>& usage);

// One streamed chunk carrying `text` (chat: a delta; `role` adds the assistant role, as the
// first chunk of a chat stream does) and, on the last chunk, `finish_reason`. With
// include_usage every chunk has "usage": null, as OpenAI sends it.
boost::json::object CompletionChunk(const ResponseHeader& h, std::string_view text,
                                    std::optional<std::string_view> finish_reason, bool role,
                                    bool include_usage);

// The extra chunk of stream_options.include_usage: "choices": [] and the usage.
boost::json::object UsageChunk(const ResponseHeader& h,
                               const std::optional<store::TokenUsage>& usage);

}  // namespace inferline::gateway
