// Startup recovery of the quota ledger against the store: makes every reservation that was
// outstanding at a crash end up settled exactly once.
//
// Call it after a restart, before serving (the embedded `inferline serve`: open the database,
// open the ledger, Broker::ReleaseAllLeases(), then this). For each outstanding reservation:
// - no request record: the crash hit between Reserve and CreateRequest, so the request was never
//   accepted: refund everything (tokens and the request);
// - a terminal record: the crash hit between FinalizeRequest and Settle: charge the usage the
//   record holds (0 when it has none);
// - an open record (queued or running): leave it; its result settles it when it arrives.
// Settle's idempotence makes running it twice, or concurrently with a collector, harmless.
//
// The distributed collector also runs it periodically with `min_age`: reservations younger than
// that are left alone, since a live gateway may be between Reserve and CreateRequest for them
// (a crashed gateway's reservations would otherwise hold quota, and concurrency slots, forever).
//
// Thread-safety: as the ledger and store it is given; blocks on both.
#pragma once

#include "quota/quota_ledger.h"
#include "store/store.h"

namespace inferline::quota {

struct ReconcileReport {
  int refunded_unrecorded = 0;  // no record: refunded in full
  int settled_finished = 0;     // terminal record: settled with its usage
  int left_open = 0;            // still queued or running
  int too_recent = 0;           // younger than min_age: not looked at
};

[[nodiscard]] Result<ReconcileReport> ReconcileReservations(
    QuotaLedger& ledger, store::Store& store, Time now,
    std::chrono::milliseconds min_age = std::chrono::milliseconds(0));

}  // namespace inferline::quota
