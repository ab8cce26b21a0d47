// Reading and writing the JSON `data` of request events, and the request status document.
//
// Event payloads (ARCHITECTURE.md §4; the bus does not interpret them):
//   queued     {request_id, status, model, prompt_tokens, max_tokens, reserved_tokens, created}
//   started    {request_id, status, worker_id?, ...}
//   token      {text, index?}                 one piece of generated text
//   completed / failed / cancelled / expired
//              {request_id, status, output_text?, finish_reason?, usage?{prompt_tokens,
//               completion_tokens, total_tokens}, error?{code, message}}
// Readers are lenient: a token's text may also be under "token" or "delta", and a terminal
// event that lacks the output is completed from the stored record.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "events/event.h"
#include "store/types.h"

namespace inferline::gateway {

// The text of a token event, or nullopt when it carries none.
std::optional<std::string> TokenText(std::string_view data);

// What a client needs of a finished request.
struct FinalResult {
  store::RequestStatus status = store::RequestStatus::kCompleted;
  std::string output_text;
  std::string finish_reason;
  std::optional<store::TokenUsage> usage;
  std::string error_code;
  std::string error_message;
};

// From a terminal event; nullopt when the data lacks the output or the usage of a completed
// request (then read the record).
std::optional<FinalResult> FinalFromEvent(const events::Event& ev);
FinalResult FinalFromRecord(const store::RequestRecord& rec);

events::EventType TerminalEventFor(store::RequestStatus s);

// The data of a terminal event synthesized from a stored record (history lost, e.g. after a
// restart), in the same shape the collector publishes.
std::string TerminalEventData(const store::RequestRecord& rec);
// The data of a `started` event synthesized from a running record (history lost).
std::string StatusEventData(const store::RequestRecord& rec);
// The data of a request's first event, `queued` (SSE id 1), which the events route derives from
// the record: admission does not publish it.
std::string QueuedEventData(const store::RequestRecord& rec);

// GET /v1/requests/{id}.
boost::json::object RequestDocument(const store::RequestRecord& rec);

int64_t UnixSeconds(store::Time t);
// RFC 3339 UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string Rfc3339(store::Time t);

}  // namespace inferline::gateway
