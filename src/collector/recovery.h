// Startup recovery of the embedded deployment (`inferline serve`), where one process is the
// only consumer of every queue. Call it after opening the seams and before starting workers,
// collectors and the HTTP server:
//
//   1. Broker::ReleaseAllLeases(): leases held by the previous incarnation died with it, so
//      every message it had taken is visible again now rather than after its lease timeout.
//   2. Drain "inference_results" through the collector: results published before the crash
//      are finalized and settled with their real usage before step 3 looks at the ledger.
//   3. quota::ReconcileReservations: a reservation whose request has no record is refunded; one
//      whose record is terminal (the crash hit between finalize and settle, or the gateway died
//      between cancelling a queued request and refunding it) is settled with the recorded
//      usage; one whose request is open is left to its result.
//
// Why every accepted request then ends exactly once: the gateway writes the record and its
// queue message in one transaction, a worker acks a request only after its result is durable
// in "inference_results", and the collector acks a result only after finalize, settle and the
// event. So a request that is still queued or running in the store has its request message or
// its result message in a queue (made visible again by step 1): it will be run, or its result
// collected, by the components started next. Requests `running` in the store need nothing here:
// their messages are redelivered and MarkRunning accepts a running request again (the worker
// emits a second `started`, which tells listeners the generation restarted).
//
// Thread-safety: call it from one thread while nothing else consumes.
#pragma once

#include <cstdint>

#include "collector/collector.h"
#include "common/status.h"
#include "queue/broker.h"
#include "quota/quota_ledger.h"
#include "quota/reconcile.h"
#include "store/store.h"

namespace inferline::collector {

struct RecoveryReport {
  int results_collected = 0;  // result messages handled in step 2
  quota::ReconcileReport quota;
  int64_t running = 0;  // requests left running in the store, to be redelivered
  int64_t queued = 0;
};

[[nodiscard]] Result<RecoveryReport> RecoverEmbedded(queue::Broker& broker, store::Store& store,
                                                     quota::QuotaLedger& ledger,
                                                     Collector& collector, quota::Time now);

}  // namespace inferline::collector
