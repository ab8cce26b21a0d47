#include "collector/collector.h"

#include <algorithm>

#include "common/log.h"
#include "common/thread_name.h"
#include "protocol/event_data.h"
#include "queue/outage_hold.h"

namespace inferline::collector {
namespace {

store::RequestStatus ToRequestStatus(protocol::FinalStatus s) {
  switch (s) {
    case protocol::FinalStatus::kCompleted: return store::RequestStatus::kCompleted;
    case protocol::FinalStatus::kFailed: return store::RequestStatus::kFailed;
    case protocol::FinalStatus::kCancelled: return store::RequestStatus::kCancelled;
    case protocol::FinalStatus::kExpired: return store::RequestStatus::kExpired;
  }
  return store::RequestStatus::kFailed;
}

// The terminal event of a terminal record.
events::EventType EventFor(store::RequestStatus s) {
  switch (s) {
    case store::RequestStatus::kCompleted: return events::EventType::kCompleted;
    case store::RequestStatus::kCancelled: return events::EventType::kCancelled;
    case store::RequestStatus::kExpired: return events::EventType::kExpired;
    default: return events::EventType::kFailed;
  }
}

protocol::FinalStatus FinalStatusFor(store::RequestStatus s) {
  switch (s) {
    case store::RequestStatus::kCompleted: return protocol::FinalStatus::kCompleted;
    case store::RequestStatus::kCancelled: return protocol::FinalStatus::kCancelled;
    case store::RequestStatus::kExpired: return protocol::FinalStatus::kExpired;
    default: return protocol::FinalStatus::kFailed;
  }
}

protocol::TerminalEventData TerminalData(const store::RequestRecord& rec) {
  protocol::TerminalEventData d;
  d.status = FinalStatusFor(rec.status);
  d.text = rec.output_text;
  d.finish_reason = rec.finish_reason;
  if (rec.usage) d.usage = {rec.usage->prompt_tokens, rec.usage->completion_tokens};
  d.error_code = rec.error_code;
  d.error_message = rec.error_message;
  if (rec.status == store::RequestStatus::kCancelled && d.error_code.empty()) {
    d.error_code = "cancelled";
    d.error_message = "the request was cancelled";
  }
  return d;
}

}  // namespace

Collector::Collector(queue::Broker& broker, store::Store& store, quota::QuotaLedger& ledger,
                     events::EventBus& bus, CollectorOptions options)
    : broker_(broker),
      store_(store),
      ledger_(ledger),
      bus_(bus),
      options_(std::move(options)),
      metrics_(options_.registry ? *options_.registry : metrics::Registry::Default()) {
  options_.batch_size = std::clamp(options_.batch_size, 1, 1000);
  options_.threads = std::max(1, options_.threads);
}

Collector::~Collector() { Stop(); }

Status Collector::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return FailedPrecondition("the collector was already started");
  started_ = true;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] {
    NameThisThread("collector");
    Loop();
  });
  log::Info("collector consuming {} ({} threads)", queue::kResultsQueue, options_.threads);
  return Status::Ok();
}

void Collector::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    started_ = false;
    stopping_ = true;
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  log::Info("collector stopped");
}

void Collector::Loop() {
  while (!stopping_) {
    auto t0 = std::chrono::steady_clock::now();
    Result<int> n = ProcessBatch(options_.consume_wait);
    if (!n.ok()) log::Warn("collector: consuming results failed: {}", n.status().ToString());
    if (!n.ok() || *n == 0) {
      // Do not spin on a broker that fails or returns at once (shut down).
      auto elapsed = std::chrono::steady_clock::now() - t0;
      auto rest = (n.ok() ? options_.consume_wait / 2 : options_.retry_delay) - elapsed;
      for (auto until = std::chrono::steady_clock::now() + rest;
           !stopping_ && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
}

Result<int> Collector::ProcessBatch(std::chrono::milliseconds wait) {
  queue::ConsumeOptions opts;
  opts.max_messages = options_.batch_size;
  opts.visibility_timeout = options_.visibility_timeout;
  opts.wait = wait;
  ASSIGN_OR_RETURN(std::vector<queue::Delivery> batch,
                   broker_.Consume(queue::kResultsQueue, opts));
  for (const queue::Delivery& d : batch) Handle(d);
  return static_cast<int>(batch.size());
}

void Collector::Handle(const queue::Delivery& d) {
  Result<protocol::ResultMessage> parsed = protocol::ParseResultMessage(d.payload);
  if (!parsed.ok()) {
    metrics_.results_total.With({"invalid"}).Inc();
    if (d.dead_lettered) {
      // The notice of a message we rejected: leave it in the dead-letter queue.
      (void)broker_.Ack(d);
      return;
    }
    log::Error("collector: unreadable result {} ({}); dead-lettering it", d.meta.message_id,
               parsed.status().ToString());
    (void)broker_.Nack(d, false);
    return;
  }
  Result<ApplyReport> applied = Apply(*parsed);
  if (!applied.ok() && applied.status().code() == StatusCode::kUnavailable) {
    bool lease_lost = false;
    applied = ApplyHolding(d, *parsed, applied.status(), &lease_lost);
    if (lease_lost) {
      log::WarnFor(parsed->request_id, "lost the result's lease while waiting for the store; "
                                       "the broker delivers it again");
      return;
    }
  }
  if (!applied.ok()) {
    log::WarnFor(parsed->request_id, "cannot record the result yet: {}",
                 applied.status().ToString());
    metrics_.retries_total.Inc();
    // A dead-letter notice would come straight back; its lease expiry retries it instead.
    if (!d.dead_lettered) (void)broker_.Nack(d, true, options_.retry_delay);
    return;
  }
  CountApplied(*parsed, *applied);
  if (Status st = broker_.Ack(d); !st.ok()) {
    // The lease lapsed and the result will come again; replaying it is harmless.
    log::WarnFor(parsed->request_id, "ack of the result failed: {}", st.ToString());
  }
}

void Collector::CountApplied(const protocol::ResultMessage& result, const ApplyReport& report) {
  if (!report.known) {
    metrics_.results_total.With({"unknown"}).Inc();
  } else {
    metrics_.results_total.With({protocol::FinalStatusName(result.status)}).Inc();
    if (!report.finalized) metrics_.duplicate_results_total.Inc();
  }
}

Status Collector::Record(const protocol::ResultMessage& result) {
  Result<ApplyReport> applied = Apply(result);
  if (!applied.ok()) {
    metrics_.retries_total.Inc();
    return applied.status();
  }
  CountApplied(result, *applied);
  return Status::Ok();
}

Result<ApplyReport> Collector::ApplyHolding(const queue::Delivery& d,
                                            const protocol::ResultMessage& result, Status first,
                                            bool* lease_lost) {
  queue::OutageHold hold({.hold = options_.outage_hold,
                          .stopped = [this] { return stopping_.load(); },
                          .broker = &broker_,
                          .delivery = &d,
                          .visibility = options_.visibility_timeout});
  log::WarnFor(result.request_id,
               "cannot record the result yet ({}); holding it and retrying for up to {:.1f} s",
               first.ToString(), hold.hold_seconds());
  Result<ApplyReport> last = std::move(first);
  for (;;) {
    const queue::OutageHold::Step step = hold.Wait();
    if (step == queue::OutageHold::Step::kLeaseLost) *lease_lost = true;
    if (step != queue::OutageHold::Step::kRetry) return last;
    metrics_.retries_total.Inc();
    last = Apply(result);
    if (last.ok()) {
      log::InfoFor(result.request_id, "the store answers again; result recorded");
      return last;
    }
    if (last.status().code() != StatusCode::kUnavailable) return last;
  }
}

Result<ApplyReport> Collector::Apply(const protocol::ResultMessage& result) {
  const std::string& id = result.request_id;
  const auto now = options_.now();
  ApplyReport report;
  store::RequestOutcome outcome;
  outcome.status = ToRequestStatus(result.status);
  outcome.output_text = result.output_text;
  outcome.finish_reason = result.finish_reason;
  outcome.usage = store::TokenUsage{result.usage.prompt_tokens, result.usage.completion_tokens};
  outcome.error_code = result.error_code;
  outcome.error_message = result.error_message;
  outcome.worker_id = result.worker_id;
  outcome.finished_at = now;

  // 1. Finalize.
  Result<bool> finalized = store_.FinalizeRequest(id, outcome);
  if (!finalized.ok() && finalized.status().code() == StatusCode::kNotFound) {
    log::ErrorFor(id, "result for an unknown request from worker '{}'; dropped", result.worker_id);
    report.known = false;
    return report;
  }
  RETURN_IF_ERROR(finalized.status());
  report.finalized = *finalized;
  store::RequestRecord rec;
  if (report.finalized) {
    // This call wrote the terminal state: the record holds exactly the outcome.
    rec.id = id;
    rec.status = outcome.status;
    rec.output_text = std::move(outcome.output_text);
    rec.finish_reason = std::move(outcome.finish_reason);
    rec.usage = outcome.usage;
    rec.error_code = std::move(outcome.error_code);
    rec.error_message = std::move(outcome.error_message);
  } else {
    // Final already (a replay, or cancelled meanwhile): the record decides.
    ASSIGN_OR_RETURN(rec, store_.GetRequest(id));
  }
  report.status = rec.status;

  // 2. Settle with what the record says was consumed.
  const int64_t tokens = rec.usage ? rec.usage->total() : 0;
  std::optional<int64_t> requests;
  if (rec.status == store::RequestStatus::kExpired ||
      (rec.status != store::RequestStatus::kCompleted && tokens == 0)) {
    requests = 0;  // it never ran: refund the request too
  }
  ASSIGN_OR_RETURN(report.settled, ledger_.Settle(id, tokens, now, requests));

  // 3. Terminal event.
  ASSIGN_OR_RETURN(report.event_published, PublishTerminal(rec));
  log::InfoFor(id, "result {}: record {}{}, {} tokens{}", protocol::FinalStatusName(result.status),
               store::RequestStatusName(rec.status), report.finalized ? "" : " (already final)",
               tokens, report.settled ? " settled" : "");
  return report;
}

Result<bool> Collector::PublishTerminal(const store::RequestRecord& rec) {
  if (!store::IsTerminal(rec.status)) return false;  // cannot happen after FinalizeRequest
  Result<events::StreamInfo> info = bus_.Describe(rec.id);
  if (info.ok() && info->terminal) return false;
  const events::EventType type = EventFor(rec.status);
  protocol::TerminalEventData data = TerminalData(rec);
  Result<int64_t> pub = bus_.Publish(rec.id, type, protocol::Serialize(data));
  if (!pub.ok() && pub.status().code() == StatusCode::kInvalidArgument && !data.text.empty()) {
    // Too large for the bus: listeners read the text from the request record instead.
    log::WarnFor(rec.id, "terminal event too large ({}); published without the text",
                 pub.status().message());
    data.text.clear();
    pub = bus_.Publish(rec.id, type, protocol::Serialize(data));
  }
  if (pub.ok()) return true;
  if (pub.status().code() == StatusCode::kFailedPrecondition) return false;  // ended meanwhile
  if (pub.status().code() == StatusCode::kInvalidArgument) {
    log::ErrorFor(rec.id, "cannot publish the terminal event: {}", pub.status().ToString());
    return false;  // retrying cannot help
  }
  return pub.status();
}

}  // namespace inferline::collector
