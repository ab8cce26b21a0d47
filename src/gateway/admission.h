// Admission: everything between "this request is authenticated and well-formed" and "this
// request is durably queued" (ARCHITECTURE.md §3 step 1, after validation):
//
//   model known? -> count prompt tokens with the model's tokenizer -> default / check max_tokens
//   against the context -> QuotaLedger::Reserve(prompt + max_tokens, 1 request) over every
//   window at once -> Store::CreateRequest(record + queue message, one atomic step)
//
// Any failure after the reservation refunds it; if the write fails, a `failed` event closes the
// request's stream. The `queued` event is not published: every request's event stream starts
// with it, so the events route derives it from the record (id 1, the bus's events follow it),
// which spares admission a bus call per request.
// Callers that want the request's events (sync completions, streaming) pass a callback and get
// the subscription back, made before any worker can see the request, so nothing is missed.
//
// Admit blocks (tokenizer, ledger, store): run it on the blocking pool.
//
// Thread-safety: Admit may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "events/event_bus.h"
#include "gateway/authenticator.h"
#include "gateway/model_catalog.h"
#include "gateway/request_parser.h"
#include "quota/quota_ledger.h"
#include "store/store.h"

namespace inferline::gateway {

struct AdmissionOptions {
  int default_max_tokens = 256;
  std::chrono::seconds default_timeout{600};  // deadline when timeout_seconds is not given
  // While the quota ledger is unreachable (Redis down): false refuses with 503 (fail closed);
  // true accepts the request unmetered, logged and counted as "unmetered".
  bool quota_fail_open = false;
  // The quota ledger and event bus are in-process (the embedded deployment): reserving,
  // refunding and publishing never block, so with a store that records without blocking,
  // admission can run on an HTTP I/O thread (NonBlocking()).
  bool in_process_seams = false;
};

// The prompt as the model will see it.
struct PreparedPrompt {
  std::string text;  // completion: the prompt; chat: the rendered chat template
  std::vector<int32_t> ids;
  int max_tokens = 0;  // as given, or defaulted to fit the context
};

struct Admitted {
  std::string request_id;
  const ServedModel* model = nullptr;
  PreparedPrompt prompt;
  int64_t prompt_tokens = 0;
  int64_t reserved_tokens = 0;
  store::Time created_at{};
  events::Subscription subscription;     // when a callback was given
  std::vector<quota::WindowUsage> usage;  // the user's windows after the reservation
  bool unmetered = false;  // accepted without a reservation (quota.fail_open)
};

struct AdmitFailure {
  Status status;
  std::string type;  // OpenAI error.type / error.code where they differ from the defaults
  std::string code;
  std::optional<quota::Exceeded> exceeded;  // quota refusals
  std::vector<quota::WindowUsage> usage;    // quota refusals: for x-ratelimit-* headers
  std::string result = "error";             // label of inferline_admissions_total
  int64_t retry_after_seconds = 0;          // > 0: a Retry-After header (503s)
};

struct AdmitOutcome {
  std::optional<Admitted> admitted;
  AdmitFailure failure;  // when !admitted
};

// A request reserved, waiting to be recorded. Admission publishes no `queued` event: the
// events route derives it from the record (Gateway::StreamEvents).
struct PendingAdmission {
  Admitted admitted;
  store::RequestRecord record;
  store::OutboxMessage outbox;
  protocol::RequestMessage message;  // what `outbox` carries, for an in-process start
};

struct AdmitStart {
  std::optional<PendingAdmission> pending;
  AdmitOutcome outcome;  // when !pending: the refusal
};

class Admission {
 public:
  Admission(store::Store& store, quota::QuotaLedger& ledger, events::EventBus& bus,
            const ModelCatalog& models, AdmissionOptions options)
      : store_(store), ledger_(ledger), bus_(bus), models_(models), options_(options) {}

  // Begin, Store::CreateRequest, Finish.
  AdmitOutcome Admit(const Principal& principal, GenerationRequest request,
                     events::EventCallback on_event = {});

  // Admit in two halves around the store's write, for callers that record the request with
  // Store::CreateRequestAsync: Begin does everything up to the write (or refuses), Finish takes
  // the write's Status (refunding and closing the event stream when it failed).
  AdmitStart Begin(const Principal& principal, const GenerationRequest& request,
                   events::EventCallback on_event = {});
  AdmitOutcome Finish(PendingAdmission pending, const Status& created);
  // Begin without blocking, for event loops: the reservation goes through the ledger's
  // asynchronous form, and `done` gets what Begin would return, on one of its threads (or on
  // the caller's, before this returns, for a refusal decided here). Takes no event callback: subscribing blocks. `principal` and `request` must stay
  // alive until `done` has run. Finish may block (a failed write refunds): run it where
  // blocking is allowed unless NonBlocking().
  void BeginAsync(const Principal& principal, const GenerationRequest& request,
                  std::function<void(AdmitStart)> done);
  // True when BeginAsync spares its caller every wait and the store records without blocking.
  bool Asynchronous() const {
    return ledger_.ReservesWithoutBlocking() && store_.CreatesWithoutBlocking();
  }
  // True when Begin and Finish never block and the store records without blocking
  // (AdmissionOptions::in_process_seams): they may then run on an HTTP I/O thread.
  bool NonBlocking() const {
    return options_.in_process_seams && store_.CreatesWithoutBlocking();
  }
  store::Store& store() { return store_; }

  // Counts the prompt and settles max_tokens (InvalidArgument naming prompt / messages /
  // max_tokens when they do not fit the context). Pure; public for tests.
  Result<PreparedPrompt> Prepare(const ServedModel& model, const GenerationRequest& request) const;

  const AdmissionOptions& options() const { return options_; }

  // Back-pressure: when set and true for a model, requests for it are refused with 503 and
  // Retry-After before anything is reserved (its queue is full). Set before serving.
  void SetQueueFullCheck(std::function<bool(const std::string& model)> full) {
    queue_full_ = std::move(full);
  }

 private:
  // `usage`: the windows as the refused reservation saw them (absent when they could not be
  // read; the refusal then carries no x-ratelimit-* figures).
  static AdmitFailure QuotaRefusal(const quota::Exceeded& exceeded,
                                   std::optional<std::vector<quota::WindowUsage>> usage);
  void Refund(const std::string& request_id);
  // Begin's steps. Check: the model, the prompt and the queue (a refusal, or `a` filled in up to
  // the reservation). Reserved: the ledger's answer (false: `start` holds the refusal).
  // Pending: the record, the queue message and its outbox row.
  std::optional<AdmitStart> Check(const GenerationRequest& request, Admitted* a) const;
  bool Reserved(Result<quota::QuotaLedger::ReserveReport> reported, Admitted& a,
                AdmitStart& start);
  PendingAdmission Pending(const Principal& principal, const GenerationRequest& request,
                           Admitted a) const;

  store::Store& store_;
  quota::QuotaLedger& ledger_;
  events::EventBus& bus_;
  const ModelCatalog& models_;
  AdmissionOptions options_;
  std::function<bool(const std::string& model)> queue_full_;
};

// "tokens per day", "concurrent requests", ...
std::string WindowDisplayName(quota::Window w);
// Go-style durations as OpenAI's x-ratelimit-reset-* headers use them: "20ms", "6m0s", "1h2m3s".
std::string FormatResetDuration(std::chrono::milliseconds d);

}  // namespace inferline::gateway
