#include "store/types.h"

#include <fmt/format.h>

#include <charconv>

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

std::string RequestCursorAfter(const RequestRecord& last) {
  return fmt::format("{}:{}", ToMillis(last.created_at), last.id);
}

Result<RequestCursor> ParseRequestCursor(std::string_view cursor) {
  size_t colon = cursor.find(':');
  int64_t ms = 0;
  if (colon != std::string_view::npos) {
    auto [p, ec] = std::from_chars(cursor.data(), cursor.data() + colon, ms);
    if (ec == std::errc() && p == cursor.data() + colon) {
      return RequestCursor{ms, std::string(cursor.substr(colon + 1))};
    }
  }
  return InvalidArgument("invalid page cursor", "cursor");
}

}  // namespace inferline::store
