// LocalQuotaLedger: the QuotaLedger of the embedded deployment. All state lives in memory under
// one mutex (O(1) per call) and is persisted in the shared SQLite database: a row per
// outstanding reservation (quota_reservations) and settled totals per user per UTC day and month
// (quota_counters). Open() loads both, so reservations outstanding at a crash are still there to
// be settled, exactly once, after the restart.
//
// Durability ordering: Reserve and Settle decide in memory, then hand their row change to a
// QuotaJournal while still holding the mutex, so the rows commit in the order of the decisions;
// the journal writes all changes pending at a time in one operation of the database's
// group-commit writer. By default Reserve and Settle return without waiting for the commit: the
// writer commits in submission order, so the gateway's next write (the request record, which
// is what makes a request accepted) commits in the same or a later transaction; a reservation is
// thus durable before any request it guards is accepted, and a crash before that loses both.
// With wait_for_commit they return only after their own commit (for callers that write nothing
// after). A failed commit is logged; the in-memory state stays as decided and recovery
// (reconcile.h) repairs the database's view after a restart.
//
// The sliding per-minute windows are rebuilt on restart from the outstanding reservations only:
// usage settled in the last minute before a crash is forgotten, allowing at most one minute of
// extra per-minute rate after a restart. Calendar windows and concurrency are exact.
//
// Memory: one small entry per user active in the current month (not pruned within the month).
//
// Thread-safety: every method may be called from any thread; mu_ guards users_ and reservations_.
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "quota/local/quota_journal.h"
#include "quota/local/user_windows.h"
#include "quota/quota_ledger.h"
#include "store/sqlite/sqlite_database.h"

namespace inferline::quota {

struct LocalQuotaLedgerOptions {
  bool wait_for_commit = false;
};

class LocalQuotaLedger final : public QuotaLedger {
 public:
  // Loads the state from `db`; with a null db the ledger is memory-only (tests of other parts).
  [[nodiscard]] static Result<std::unique_ptr<LocalQuotaLedger>> Open(
      std::shared_ptr<store::SqliteDatabase> db, Time now, LocalQuotaLedgerOptions options = {});

  Result<ReserveOutcome> Reserve(const ReserveRequest& request, const Limits& limits,
                                 Time now) override;
  Result<bool> Settle(std::string_view request_id, int64_t actual_tokens, Time now,
                      std::optional<int64_t> actual_requests = {}) override;
  Result<std::vector<WindowUsage>> Usage(std::string_view user_id, const Limits& limits,
                                         Time now) override;
  Result<std::vector<ReservationInfo>> ListReservations() override;

 private:
  struct Reservation {
    std::string user_id;
    Amount amount;
    int64_t day = 0;
    int64_t month = 0;
    int64_t minute_second = 0;  // the sliding-window entry it was charged to
    int64_t created_ms = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  LocalQuotaLedger(std::shared_ptr<store::SqliteDatabase> db, LocalQuotaLedgerOptions options)
      : db_(std::move(db)),
        journal_(db_ ? std::make_shared<QuotaJournal>(db_) : nullptr),
        options_(options) {}
  Status Load(Time now);
  // Brings a user's windows to `now`.
  void Advance(UserWindows& u, Time now) const;
  std::optional<Exceeded> Check(const UserWindows& u, const Amount& want, const Limits& limits,
                                Time now) const;
  // Hands a row change to the journal (call with mu_ held); returns what to wait for, if any.
  std::optional<std::future<Status>> Persist(JournalRow row);

  std::shared_ptr<store::SqliteDatabase> db_;
  std::shared_ptr<QuotaJournal> journal_;
  LocalQuotaLedgerOptions options_;
  std::mutex mu_;
  StringMap<UserWindows> users_;
  StringMap<Reservation> reservations_;
};

}  // namespace inferline::quota
