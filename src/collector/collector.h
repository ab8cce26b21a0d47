// Collector: turns results on "inference_results" into the request's final state
// (ARCHITECTURE §3, step 3). For each result, in this order:
//   1. Store::FinalizeRequest: moves a non-terminal record to the result's status, with output,
//      usage and error, and records the usage ledger row (once per request);
//   2. QuotaLedger::Settle with the usage the RECORD now holds (the record is the one source of
//      truth: a second result for the same request, from a redelivery, cannot change what
//      was billed). A request that completed keeps its request count; one that expired, or
//      ended without consuming a token, is refunded the request too;
//   3. the terminal event (completed / failed / cancelled / expired, from the record's status),
//      unless the request's stream already has one (EventBus::Describe), e.g. the gateway's
//      `cancelled` or this collector's own before a crash;
//   4. Ack.
//
// Crash safety: every step is idempotent and the ack comes last, so a crash anywhere means the
// result is delivered again and replaying it completes what was missing and repeats nothing:
//   - before 1: the replay does everything;
//   - between 1 and 2: FinalizeRequest is a no-op, Settle charges the recorded usage (startup
//     reconciliation, quota/reconcile.h, would charge the same amount);
//   - between 2 and 3: Settle is a no-op; the event goes out because the stream has none;
//   - between 3 and 4: all no-ops (after a restart the in-process bus has forgotten the stream,
//     so a listener may see the terminal event again, consistent with the record).
// Two results for one request (a worker that crashed between publishing and acking, and ran it
// again) thus give one transition, one usage ledger row, one settle and one terminal event.
//
// A result that cannot be parsed is dead-lettered ("inference_results.dlq"); a result for an
// unknown request is logged and dropped. While the store, ledger or bus is unavailable (an
// outage), the consumer keeps the delivery (extending its lease) and retries with backoff for
// up to outage_hold, consuming nothing else meanwhile: giving it back at once would count
// a delivery each time, and a few seconds of outage would dead-letter results. Any other
// failure, or an outage longer than the hold, gives the message back to be retried after
// retry_delay.
//
// Threads: `threads` consumer loops after Start(); ProcessBatch can also be driven directly
// (startup recovery, tests). The ml_* metrics are the worker's; this counts results only.
//
// Thread-safety: Start/Stop from one controlling thread; Apply and ProcessBatch from any thread.
// The seams must outlive the Collector.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "collector/collector_metrics.h"
#include "common/metrics.h"
#include "common/status.h"
#include "events/event_bus.h"
#include "protocol/messages.h"
#include "queue/broker.h"
#include "quota/quota_ledger.h"
#include "store/store.h"

namespace inferline::collector {

struct CollectorOptions {
  int batch_size = 32;  // results per Consume
  int threads = 1;      // consumer loops
  std::chrono::milliseconds visibility_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds consume_wait{std::chrono::milliseconds(500)};
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};
  std::chrono::milliseconds outage_hold{std::chrono::minutes(5)};
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
  metrics::Registry* registry = nullptr;  // null: metrics::Registry::Default()
};

// What Apply did; each flag is true only for the call that made the change.
struct ApplyReport {
  bool known = true;            // the request exists in the store
  bool finalized = false;       // this call moved the record to its terminal status
  bool settled = false;         // this call settled the reservation
  bool event_published = false;
  store::RequestStatus status = store::RequestStatus::kFailed;  // the record's final status
};

class Collector {
 public:
  Collector(queue::Broker& broker, store::Store& store, quota::QuotaLedger& ledger,
            events::EventBus& bus, CollectorOptions options = {});
  ~Collector();  // Stop()

  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // FailedPrecondition when already started.
  [[nodiscard]] Status Start();
  // Stops the loops after the batch in hand. Idempotent.
  void Stop();

  // Steps 1-3 for one result. Idempotent; an error leaves nothing half done that a retry
  // would not complete.
  [[nodiscard]] Result<ApplyReport> Apply(const protocol::ResultMessage& result);

  // Apply for a result handed over in process instead of through the results queue (the
  // embedded deployment's worker, see WorkerOptions::record_result), counted in the metrics like
  // a consumed one. On an error nothing is retried here: the caller falls back to the queue.
  [[nodiscard]] Status Record(const protocol::ResultMessage& result);

  // Takes up to batch_size results (waiting up to `wait` for the first) and handles each
  // (Apply, then Ack; or dead-letter / retry). Returns how many deliveries it handled.
  [[nodiscard]] Result<int> ProcessBatch(std::chrono::milliseconds wait);

 private:
  void Loop();
  void Handle(const queue::Delivery& delivery);
  void CountApplied(const protocol::ResultMessage& result, const ApplyReport& report);
  // Apply retried while it fails with Unavailable (see outage_hold). Sets *lease_lost
  // when the delivery's lease could not be extended meanwhile.
  Result<ApplyReport> ApplyHolding(const queue::Delivery& delivery,
                                   const protocol::ResultMessage& result, Status first,
                                   bool* lease_lost);
  // Step 3; true when this call published the terminal event.
  [[nodiscard]] Result<bool> PublishTerminal(const store::RequestRecord& record);

  queue::Broker& broker_;
  store::Store& store_;
  quota::QuotaLedger& ledger_;
  events::EventBus& bus_;
  CollectorOptions options_;
  CollectorMetrics metrics_;

  std::mutex mu_;  // guards started_ and threads_
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace inferline::collector
