#include "collector/recovery.h"

#include <string>
#include <vector>

#include "common/log.h"

namespace inferline::collector {
namespace {

// How many requests are open in `status` (for the log; pages through the ids).
Result<int64_t> CountOpen(store::Store& store, store::RequestStatus status) {
  int64_t n = 0;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<std::string> ids, store.ListOpenRequestIds(status, after, 1000));
    n += static_cast<int64_t>(ids.size());
    if (ids.size() < 1000) return n;
    after = ids.back();
  }
}

}  // namespace

Result<RecoveryReport> RecoverEmbedded(queue::Broker& broker, store::Store& store,
                                       quota::QuotaLedger& ledger, Collector& collector,
                                       quota::Time now) {
  RecoveryReport report;
  RETURN_IF_ERROR(broker.ReleaseAllLeases());
  // Results that fail transiently are given back with a delay, so this ends even then.
  for (;;) {
    ASSIGN_OR_RETURN(int n, collector.ProcessBatch(std::chrono::milliseconds(0)));
    if (n == 0) break;
    report.results_collected += n;
  }
  ASSIGN_OR_RETURN(report.quota, quota::ReconcileReservations(ledger, store, now));
  ASSIGN_OR_RETURN(report.running, CountOpen(store, store::RequestStatus::kRunning));
  ASSIGN_OR_RETURN(report.queued, CountOpen(store, store::RequestStatus::kQueued));
  log::Info("recovery: collected {} pending results; quota: {} refunded, {} settled, {} open; "
            "{} requests queued and {} running will be (re)delivered",
            report.results_collected, report.quota.refunded_unrecorded,
            report.quota.settled_finished, report.quota.left_open, report.queued, report.running);
  return report;
}

}  // namespace inferline::collector
