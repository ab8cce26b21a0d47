#include "store/types.h"

#include <fmt/format.h>

namespace inferline::store {

int64_t ToMillis(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Time FromMillis(int64_t ms) {
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::milliseconds(ms)));
}

std::string_view RequestStatusName(RequestStatus s) {
  switch (s) {
    case RequestStatus::kQueued: return "queued";
    case RequestStatus::kRunning: return "running";
    case RequestStatus::kCompleted: return "completed";
    case RequestStatus::kFailed: return "failed";
    case RequestStatus::kCancelled: return "cancelled";
    case RequestStatus::kExpired: return "expired";
  }
  return "unknown";
}

Result<RequestStatus> ParseRequestStatus(std::string_view s) {
  for (RequestStatus v : {RequestStatus::kQueued, RequestStatus::kRunning,
                          RequestStatus::kCompleted, RequestStatus::kFailed,
                          RequestStatus::kCancelled, RequestStatus::kExpired}) {
    if (RequestStatusName(v) == s) return v;
  }
  return InvalidArgument(fmt::format("unknown request status '{}'", s), "status");
}

bool IsTerminal(RequestStatus s) {
  return s != RequestStatus::kQueued && s != RequestStatus::kRunning;
}

std::string_view RequestKindName(RequestKind k) {
  return k == RequestKind::kChat ? "chat" : "completion";
}

Result<RequestKind> ParseRequestKind(std::string_view s) {
  if (s == "completion") return RequestKind::kCompletion;
  if (s == "chat") return RequestKind::kChat;
  return InvalidArgument(fmt::format("unknown request kind '{}'", s), "kind");
}

}  // namespace inferline::store
