// QuotaLedger: exact token and request quotas per user. Implementations: quota/local (embedded:
// in-process, persisted in the SQLite database); a Redis one (Lua scripts) for the distributed
// deployment implements the same interface.
//
// The protocol (docs: ARCHITECTURE.md §3):
// - Reserve(request, limits, now) charges the most a request can cost (prompt + max_tokens, and
//   one request) to EVERY window at once, or to none: it is granted only if every window has
//   room, so concurrent requests can never overspend a limit. A refusal names the window and
//   when to retry (Retry-After).
// - Settle(request_id, actual) replaces the reservation by the actual cost in every window it
//   was charged to (the unused part is refunded) and frees its concurrency slot. Settle is
//   idempotent: only the first call for a reservation acts (returns true); later calls, and
//   calls for ids that were never reserved, return false and change nothing. Calendar windows
//   are charged to the period the reservation was made in, even if it is settled after the
//   boundary.
// - Durability: a granted reservation is durable before the request it guards is accepted (see
//   the implementation for how), and it stays outstanding across a crash until settled. After a
//   restart, the application reconciles outstanding reservations with the store (reconcile.h)
//   before serving, so that every accepted request is settled exactly once.
//
// Thread-safety: every method may be called from any thread. Methods may block (disk or
// network): never call them on an HTTP I/O thread.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "quota/limits.h"

namespace inferline::quota {

class QuotaLedger {
 public:
  virtual ~QuotaLedger() = default;

  // InvalidArgument for empty ids, negative amounts or limits; AlreadyExists when request_id
  // already holds a reservation.
  [[nodiscard]] virtual Result<ReserveOutcome> Reserve(const ReserveRequest& request,
                                                       const Limits& limits, Time now) = 0;

  // actual_requests absent: keep the reserved request count (e.g. pass 0 to refund a request
  // that never ran). An actual cost above the reservation is charged in full.
  [[nodiscard]] virtual Result<bool> Settle(std::string_view request_id, int64_t actual_tokens,
                                            Time now,
                                            std::optional<int64_t> actual_requests = {}) = 0;

  // Every window, in kAllWindows order (for GET /v1/quota and x-ratelimit-* headers).
  [[nodiscard]] virtual Result<std::vector<WindowUsage>> Usage(std::string_view user_id,
                                                               const Limits& limits,
                                                               Time now) = 0;

  // Reserve, and the usage of every window as it stands right after it (granted or not: for the
  // x-ratelimit-* headers and the refusal's message), in one call where the ledger can do that
  // in one round trip. `usage` is absent when reading it failed; the reservation's outcome
  // stands either way. The default calls Reserve, then Usage.
  struct ReserveReport {
    ReserveOutcome outcome;
    std::optional<std::vector<WindowUsage>> usage;
  };
  [[nodiscard]] virtual Result<ReserveReport> ReserveReportingUsage(const ReserveRequest& request,
                                                                    const Limits& limits,
                                                                    Time now) {
    ASSIGN_OR_RETURN(ReserveOutcome outcome, Reserve(request, limits, now));
    ReserveReport report{.outcome = std::move(outcome), .usage = std::nullopt};
    Result<std::vector<WindowUsage>> usage = Usage(request.user_id, limits, now);
    if (usage.ok()) report.usage = std::move(*usage);
    return report;
  }

  // ReserveReportingUsage without blocking the caller, for event loops: `done` gets its result,
  // on a thread of the ledger's choosing (or the caller's, before this returns), and must not
  // block. ReservesWithoutBlocking() says whether the caller's thread is spared the wait; the
  // default runs ReserveReportingUsage and calls `done` at once.
  using ReserveDone = std::function<void(Result<ReserveReport>)>;
  virtual void ReserveReportingUsageAsync(const ReserveRequest& request, const Limits& limits,
                                          Time now, ReserveDone done) {
    done(ReserveReportingUsage(request, limits, now));
  }
  virtual bool ReservesWithoutBlocking() const { return false; }

  // Outstanding reservations, for recovery after a restart.
  [[nodiscard]] virtual Result<std::vector<ReservationInfo>> ListReservations() = 0;
};

}  // namespace inferline::quota
