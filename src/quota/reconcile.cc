#include "quota/reconcile.h"

#include "common/log.h"

namespace inferline::quota {

Result<ReconcileReport> ReconcileReservations(QuotaLedger& ledger, store::Store& store,
                                              Time now, std::chrono::milliseconds min_age) {
  ASSIGN_OR_RETURN(std::vector<ReservationInfo> open, ledger.ListReservations());
  ReconcileReport report;
  for (const ReservationInfo& r : open) {
    if (min_age.count() > 0 && now - r.created_at < min_age) {
      ++report.too_recent;
      continue;
    }
    Result<store::RequestRecord> rec = store.GetRequest(r.request_id);
    if (rec.status().code() == StatusCode::kNotFound) {
      ASSIGN_OR_RETURN(bool settled, ledger.Settle(r.request_id, 0, now, 0));
      report.refunded_unrecorded += settled;
      continue;
    }
    RETURN_IF_ERROR(rec.status());
    if (!store::IsTerminal(rec->status)) {
      ++report.left_open;
      continue;
    }
    int64_t tokens = rec->usage ? rec->usage->total() : 0;
    ASSIGN_OR_RETURN(bool settled, ledger.Settle(r.request_id, tokens, now));
    report.settled_finished += settled;
  }
  if (report.refunded_unrecorded + report.settled_finished > 0) {
    log::Info("quota recovery: refunded {} unrecorded and settled {} finished reservations; "
              "{} requests still open",
              report.refunded_unrecorded, report.settled_finished, report.left_open);
  }
  return report;
}

}  // namespace inferline::quota
