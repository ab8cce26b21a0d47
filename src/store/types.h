// Plain records kept by the Store: users, API keys, request records, the usage ledger, and the
// message that CreateRequest enqueues together with a record (see store.h).
//
// Times are std::chrono::system_clock time points; stores keep them at millisecond precision,
// so a value read back equals the value written truncated to milliseconds.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "queue/message.h"

namespace inferline::store {

using Clock = std::chrono::system_clock;
using Time = Clock::time_point;

// Milliseconds since the Unix epoch, the unit every store persists.
int64_t ToMillis(Time t);
Time FromMillis(int64_t ms);

// queued -> running -> completed | failed | cancelled | expired
enum class RequestStatus { kQueued, kRunning, kCompleted, kFailed, kCancelled, kExpired };
std::string_view RequestStatusName(RequestStatus s);
Result<RequestStatus> ParseRequestStatus(std::string_view s);
bool IsTerminal(RequestStatus s);

enum class RequestKind { kCompletion, kChat };
std::string_view RequestKindName(RequestKind k);
Result<RequestKind> ParseRequestKind(std::string_view s);

struct User {
  std::string id;
  std::string plan;
  std::string limits_json = "{}";  // per-user overrides of the plan's limits, interpreted by quota
  Time created_at{};
};

struct ApiKey {
  std::string id;
  std::string user_id;
  std::string name;
  std::string secret_hash;  // hex sha256 of the secret; the secret itself is never stored
  std::string prefix;       // short display prefix of the secret
  bool is_admin = false;
  std::string scopes;  // space-separated
  Time created_at{};
  std::optional<Time> revoked_at;
  std::optional<Time> last_used_at;
};

struct TokenUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total() const { return prompt_tokens + completion_tokens; }
};

struct RequestRecord {
  std::string id;
  std::string user_id;
  std::string key_id;
  std::string model;
  RequestKind kind = RequestKind::kCompletion;
  std::string input_json;         // prompt (a JSON string) or messages (a JSON array)
  std::string params_json = "{}";
  bool stream = false;
  int64_t prompt_tokens = 0;
  int64_t reserved_tokens = 0;
  RequestStatus status = RequestStatus::kQueued;
  // Filled by FinalizeRequest.
  std::string output_text;
  std::string finish_reason;
  std::optional<TokenUsage> usage;
  std::string error_code;
  std::string error_message;
  Time created_at{};
  std::optional<Time> started_at;
  std::optional<Time> finished_at;
  std::optional<Time> deadline;
  int attempts = 0;  // how many times a worker started it (MarkRunning)
  std::string worker_id;
};

// What a worker reports when a request ends; see Store::FinalizeRequest.
struct RequestOutcome {
  RequestStatus status = RequestStatus::kCompleted;  // must be terminal
  std::string output_text;
  std::string finish_reason;
  std::optional<TokenUsage> usage;  // when set and non-zero, a usage ledger row is recorded
  std::string error_code;
  std::string error_message;
  std::string worker_id;
  Time finished_at{};
};

struct CancelResult {
  bool cancelled = false;   // this call moved the request to `cancelled`
  RequestStatus previous = RequestStatus::kQueued;  // the status it found
  bool operator==(const CancelResult&) const = default;
};

// A queue message that a consumer in this process took before it was written: the store
// enqueues it already leased, as its first delivery (see OutboxMessage::direct).
struct DirectLease {
  std::chrono::milliseconds lease_for{0};  // the lease's length from the commit
  std::atomic<uint64_t> tag{0};  // the delivery tag, set by the store before its commit
};

// A message made durable in the same atomic step as a request record (transactional outbox).
struct OutboxMessage {
  std::string queue;    // e.g. queue::RequestQueueName(model)
  std::string payload;  // the request message JSON
  queue::MessageMeta meta;
  // Only for a store whose broker lives in the same database (the embedded one; others refuse
  // it): enqueue the message leased to the in-process consumer that holds this lease instead
  // of ready, so that nobody else takes it unless the lease runs out.
  std::shared_ptr<DirectLease> direct;
};

struct PageRequest {
  int limit = 50;      // 1..1000
  std::string cursor;  // empty for the first page, else a previous Page::next_cursor
};

template <class T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty when there are no more items
};

// The page cursor of Store::ListRequestsByUser, the same in every store:
// "<created_at ms>:<id>" of the last request of the previous page.
struct RequestCursor {
  int64_t created_ms = 0;
  std::string id;
};
std::string RequestCursorAfter(const RequestRecord& last);
Result<RequestCursor> ParseRequestCursor(std::string_view cursor);  // InvalidArgument("cursor")

// Usage totals for one user and model over [from, to).
struct UsageQuery {
  std::string user_id;  // empty: every user
  Time from{};
  Time to{};
};
struct UsageAggregate {
  std::string user_id;
  std::string model;
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

}  // namespace inferline::store
