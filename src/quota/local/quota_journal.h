// QuotaJournal: writes LocalQuotaLedger's row changes (a reservation made, a reservation
// settled) to the SQLite database, many per write operation.
//
// Add() appends a change to a buffer and, unless one is already queued, queues ONE flush
// operation on the database's group-commit writer; the flush drains the whole buffer when it
// runs. So under load a writer batch carries one quota operation however many reserves and
// settles happened, instead of one each. Ordering is preserved: a change added before a caller
// submits some later write is in the buffer when the (earlier-queued) flush runs, so it commits
// in the same or an earlier transaction than that write. Changes commit in the order added.
//
// Thread-safety: every method may be called from any thread; mu_ guards rows_ and queued_. The
// flush runs on the writer thread and shares this object (shared_ptr), so it may outlive the
// ledger.
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "quota/local/user_windows.h"
#include "store/sqlite/sqlite_database.h"

namespace inferline::quota {

struct JournalRow {
  enum class Kind { kReserve, kSettle };
  Kind kind = Kind::kReserve;
  std::string request_id;
  std::string user_id;
  Amount amount;  // kReserve: the reservation; kSettle: the actual cost
  int64_t day = 0;
  int64_t month = 0;
  int64_t created_ms = 0;  // kReserve only
};

class QuotaJournal : public std::enable_shared_from_this<QuotaJournal> {
 public:
  // Holds the database weakly: a queued flush owns the journal, and the writer thread must never
  // end up owning (and destroying) its own database.
  explicit QuotaJournal(std::weak_ptr<store::SqliteDatabase> db) : db_(std::move(db)) {}

  // With `wait`, returns a future for the commit of the flush that writes this row.
  std::optional<std::future<Status>> Add(JournalRow row, bool wait);

 private:
  struct Pending {
    JournalRow row;
    std::shared_ptr<std::promise<Status>> done;
  };
  struct Batch {
    std::vector<Pending> rows;
    bool ran = false;  // set on the writer thread before `done` runs there
  };
  // Moves the buffered rows out and lets the next Add queue a new flush.
  void Take(std::vector<Pending>& out);
  // Writes the rows taken by Take.
  Status Flush(store::WriteTx& tx, const std::vector<Pending>& drained);

  std::weak_ptr<store::SqliteDatabase> db_;
  std::mutex mu_;
  std::vector<Pending> rows_;
  bool queued_ = false;
};

}  // namespace inferline::quota
