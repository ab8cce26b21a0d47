#include "gateway/admission.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/json_value.h"
#include "common/log.h"
#include "gateway/api_keys.h"
#include "common/json_writer.h"
#include "protocol/messages.h"
#include "queue/message.h"

namespace inferline::gateway {
namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

std::string InputJson(const GenerationRequest& r) {
  std::string out;
  if (r.kind == protocol::RequestKind::kCompletion) {
    AppendJsonString(out, r.prompt);
    return out;
  }
  protocol::AppendJson(out, r.messages);
  return out;
}

std::string ParamsJson(const GenerationRequest& r, int max_tokens) {
  protocol::GenerationParams p = r.params;
  p.max_tokens = max_tokens;
  std::string out;
  out.reserve(192);
  protocol::AppendJson(out, p);
  if (r.echo || r.priority != 0) {
    out.pop_back();  // reopen the object
    if (r.echo) out += ",\"echo\":true";
    if (r.priority != 0) {
      out += ",\"priority\":";
      AppendJsonInt(out, r.priority);
    }
    out += '}';
  }
  return out;
}

}  // namespace

std::string WindowDisplayName(quota::Window w) {
  std::string name(quota::WindowName(w));
  for (char& c : name) {
    if (c == '_') c = ' ';
  }
  return name;
}

std::string FormatResetDuration(milliseconds d) {
  int64_t ms = std::max<int64_t>(0, d.count());
  if (ms < 1000) return fmt::format("{}ms", ms);
  int64_t s = (ms + 999) / 1000;
  int64_t h = s / 3600;
  int64_t m = (s % 3600) / 60;
  s %= 60;
  if (h > 0) return fmt::format("{}h{}m{}s", h, m, s);
  if (m > 0) return fmt::format("{}m{}s", m, s);
  return fmt::format("{}s", s);
}

Result<PreparedPrompt> Admission::Prepare(const ServedModel& model,
                                          const GenerationRequest& r) const {
  PreparedPrompt out;
  const engine::Tokenizer& tok = *model.tokenizer;
  std::string_view prompt_param = "prompt";
  if (r.kind == protocol::RequestKind::kCompletion) {
    out.text = r.prompt;
    out.ids = tok.Encode(out.text, /*add_special_tokens=*/true);
  } else {
    prompt_param = "messages";
    std::vector<engine::Tokenizer::ChatMessage> msgs;
    msgs.reserve(r.messages.size());
    for (const auto& m : r.messages) msgs.push_back({m.role, m.content});
    Result<std::string> rendered = tok.ApplyChatTemplate(msgs, /*add_generation_prompt=*/true);
    if (!rendered.ok()) {
      return InvalidArgument(
          fmt::format("'messages' cannot be rendered with the model's chat template: {}",
                      rendered.status().message()),
          "messages");
    }
    out.text = std::move(*rendered);
    // The template already holds whatever special tokens the model expects.
    out.ids = tok.Encode(out.text, /*add_special_tokens=*/false);
  }
  const int64_t n = static_cast<int64_t>(out.ids.size());
  const int64_t context = model.context_length;
  if (n == 0) {
    return InvalidArgument(fmt::format("'{}' encodes to no tokens", prompt_param),
                           std::string(prompt_param));
  }
  if (n >= context) {
    return InvalidArgument(
        fmt::format("This model's maximum context length is {} tokens. However, your {} is {} "
                    "tokens, which leaves no room for a completion. Please shorten it.",
                    context, prompt_param == "prompt" ? "prompt" : "messages resulted in", n),
        std::string(prompt_param));
  }
  if (!r.max_tokens_given) {
    out.max_tokens = static_cast<int>(std::min<int64_t>(options_.default_max_tokens, context - n));
  } else {
    out.max_tokens = r.params.max_tokens;
    if (n + out.max_tokens > context) {
      return InvalidArgument(
          fmt::format("This model's maximum context length is {} tokens. However, you requested "
                      "{} tokens ({} in the {}, {} for the completion). Please reduce the length "
                      "of the {} or the completion ('max_tokens' at most {}).",
                      context, n + out.max_tokens, n, prompt_param, out.max_tokens, prompt_param,
                      context - n),
          "max_tokens");
    }
  }
  return out;
}

AdmitFailure Admission::QuotaRefusal(const quota::Exceeded& ex,
                                     std::optional<std::vector<quota::WindowUsage>> usage) {
  AdmitFailure f;
  f.exceeded = ex;
  f.result = "quota_exceeded";
  bool calendar = ex.window == quota::Window::kDailyRequests ||
                  ex.window == quota::Window::kDailyTokens ||
                  ex.window == quota::Window::kMonthlyRequests ||
                  ex.window == quota::Window::kMonthlyTokens;
  f.type = calendar ? "insufficient_quota" : "rate_limit_exceeded";
  f.code = f.type;
  if (!calendar) f.result = "rate_limited";
  std::string window = WindowDisplayName(ex.window);
  std::string message;
  if (ex.never_fits) {
    message = fmt::format(
        "This request needs {} {} but your limit of {} is {}; it can never be granted. Reduce "
        "max_tokens or the prompt.",
        ex.requested, quota::CountsTokens(ex.window) ? "tokens" : "requests", window, ex.limit);
  } else {
    message = fmt::format(
        "Quota exceeded for {}: limit {}, used {}, requested {}. Please try again in {}.", window,
        ex.limit, ex.current, ex.requested, FormatResetDuration(ex.retry_after));
  }
  f.status = Status(StatusCode::kResourceExhausted, message, std::string(LimitKey(ex.window)));
  if (usage) f.usage = std::move(*usage);
  return f;
}

void Admission::Refund(const std::string& request_id) {
  Result<bool> r = ledger_.Settle(request_id, 0, store::Clock::now(), 0);
  if (!r.ok()) {
    log::ErrorFor(request_id, "refunding the reservation failed: {} (startup reconciliation "
                              "will refund it)", r.status().message());
  }
}

AdmitOutcome Admission::Admit(const Principal& principal, GenerationRequest request,
                              events::EventCallback on_event) {
  AdmitStart start = Begin(principal, request, std::move(on_event));
  if (!start.pending) return std::move(start.outcome);
  const Status created = store_.CreateRequest(start.pending->record, start.pending->outbox);
  return Finish(std::move(*start.pending), created);
}

std::optional<AdmitStart> Admission::Check(const GenerationRequest& request, Admitted* a) const {
  AdmitStart start;
  auto fail = [&](Status st, std::string result, std::string code = {}) {
    start.outcome.failure.status = std::move(st);
    start.outcome.failure.result = std::move(result);
    start.outcome.failure.code = std::move(code);
    return std::optional<AdmitStart>(std::move(start));
  };

  const ServedModel* model = models_.Find(request.model);
  if (model == nullptr) {
    return fail(Status(StatusCode::kNotFound,
                       fmt::format("The model `{}` does not exist or you do not have access to it.",
                                   request.model),
                       "model"),
                "model_not_found", "model_not_found");
  }
  Result<PreparedPrompt> prepared = Prepare(*model, request);
  if (!prepared.ok()) {
    bool context = prepared.status().message().find("context length") != std::string::npos;
    return fail(prepared.status(), "invalid", context ? "context_length_exceeded" : "");
  }

  if (queue_full_ && queue_full_(model->name)) {
    start.outcome.failure.retry_after_seconds = 5;
    return fail(Unavailable(fmt::format("The queue for model `{}` is full; please retry later.",
                                        model->name)),
                "queue_full", "queue_full");
  }

  a->request_id = NewGenerationRequestId();
  a->model = model;
  a->prompt = std::move(*prepared);
  a->prompt_tokens = static_cast<int64_t>(a->prompt.ids.size());
  a->reserved_tokens = a->prompt_tokens + a->prompt.max_tokens;
  a->created_at = store::Clock::now();
  return std::nullopt;
}

bool Admission::Reserved(Result<quota::QuotaLedger::ReserveReport> reported, Admitted& a,
                         AdmitStart& start) {
  AdmitOutcome& out = start.outcome;
  // The usage after the reservation comes back with it (one round trip for Redis): the
  // x-ratelimit-* headers and a refusal's details need it.
  std::optional<std::vector<quota::WindowUsage>> usage_after;
  Result<quota::ReserveOutcome> reserved = [&]() -> Result<quota::ReserveOutcome> {
    if (!reported.ok()) return reported.status();
    usage_after = std::move(reported->usage);
    return std::move(reported->outcome);
  }();
  if (!reserved.ok() && reserved.status().code() == StatusCode::kUnavailable &&
      options_.quota_fail_open) {
    // Configured to fail open: the request runs unmetered (settling it later finds no
    // reservation and does nothing).
    log::WarnFor(a.request_id, "quota ledger unreachable, accepting unmetered (quota.fail_open): {}",
                 reserved.status().message());
    reserved = quota::ReserveOutcome{.granted = true};
    a.unmetered = true;
  } else if (!reserved.ok()) {
    // The detail (which server, why) goes to the log, not to the client.
    log::ErrorFor(a.request_id, "quota ledger: {}", reserved.status().ToString());
    out.failure.retry_after_seconds = 2;
    out.failure.status =
        reserved.status().code() == StatusCode::kUnavailable
            ? Unavailable("The quota service is temporarily unavailable; please retry.")
            : Internal("The quota could not be checked; please retry.");
    out.failure.result = "error";
    out.failure.code = "quota_unavailable";
    return false;
  }
  if (!reserved->granted) {
    out.failure = QuotaRefusal(*reserved->exceeded, std::move(usage_after));
    return false;
  }
  if (usage_after) a.usage = std::move(*usage_after);
  return true;
}

PendingAdmission Admission::Pending(const Principal& principal, const GenerationRequest& request,
                                    Admitted a) const {
  const store::Time now = a.created_at;
  const ServedModel* model = a.model;
  const int64_t deadline_s = request.timeout_seconds
                                 ? static_cast<int64_t>(*request.timeout_seconds * 1000)
                                 : options_.default_timeout.count() * 1000;
  store::RequestRecord rec;
  rec.id = a.request_id;
  rec.user_id = principal.user_id;
  rec.key_id = principal.key_id;
  rec.model = model->name;
  rec.kind = request.kind == protocol::RequestKind::kChat ? store::RequestKind::kChat
                                                          : store::RequestKind::kCompletion;
  rec.input_json = InputJson(request);
  rec.params_json = ParamsJson(request, a.prompt.max_tokens);
  rec.stream = request.stream;
  rec.prompt_tokens = a.prompt_tokens;
  rec.reserved_tokens = a.reserved_tokens;
  rec.status = store::RequestStatus::kQueued;
  rec.created_at = now;
  rec.deadline = now + milliseconds(deadline_s);

  protocol::RequestMessage msg;
  msg.request_id = a.request_id;
  msg.user_id = principal.user_id;
  msg.key_id = principal.key_id;
  msg.model = model->name;
  msg.kind = request.kind;
  msg.prompt = a.prompt.text;
  msg.messages = request.messages;
  msg.prompt_ids = a.prompt.ids;
  msg.params = request.params;
  msg.params.max_tokens = a.prompt.max_tokens;
  msg.prompt_tokens = a.prompt_tokens;
  msg.reserved_tokens = a.reserved_tokens;
  msg.priority = request.priority;
  msg.created_at_ms = store::ToMillis(now);
  msg.deadline_ms = store::ToMillis(*rec.deadline);
  msg.stream = request.stream;

  store::OutboxMessage outbox;
  outbox.queue = queue::RequestQueueName(model->name);
  outbox.payload = protocol::Serialize(msg);
  outbox.meta.message_id = a.request_id;
  outbox.meta.model = model->name;
  outbox.meta.tokens = a.reserved_tokens;
  outbox.meta.priority = request.priority;
  return PendingAdmission{std::move(a), std::move(rec), std::move(outbox), std::move(msg)};
}

AdmitStart Admission::Begin(const Principal& principal, const GenerationRequest& request,
                            events::EventCallback on_event) {
  Admitted a;
  if (std::optional<AdmitStart> refused = Check(request, &a)) return std::move(*refused);
  AdmitStart start;
  quota::ReserveRequest rr{principal.user_id, a.request_id, a.reserved_tokens, 1};
  if (!Reserved(ledger_.ReserveReportingUsage(rr, principal.limits, a.created_at), a, start)) {
    return start;
  }
  // From here on, every failure refunds the reservation.
  if (on_event) {
    // A non-streaming answer needs only the terminal event; not following the tokens lets the
    // worker hold them back and publish them together (EventBus::HasLiveFollowers).
    Result<events::SubscribeResult> sub = bus_.Subscribe(
        a.request_id, 0, std::move(on_event), {.terminal_only = !request.stream});
    if (!sub.ok()) {
      Refund(a.request_id);
      start.outcome.failure.status =
          Unavailable("cannot subscribe to the request's events: " + sub.status().message());
      start.outcome.failure.result = "error";
      return start;
    }
    a.subscription = std::move(sub->subscription);
  }
  // No `queued` event goes to the bus: the events route derives it from the record.
  start.pending = Pending(principal, request, std::move(a));
  return start;
}

void Admission::BeginAsync(const Principal& principal, const GenerationRequest& request,
                           std::function<void(AdmitStart)> done) {
  auto a = std::make_shared<Admitted>();
  if (std::optional<AdmitStart> refused = Check(request, a.get())) {
    done(std::move(*refused));
    return;
  }
  quota::ReserveRequest rr{principal.user_id, a->request_id, a->reserved_tokens, 1};
  ledger_.ReserveReportingUsageAsync(
      rr, principal.limits, a->created_at,
      [this, &principal, &request, a, done](Result<quota::QuotaLedger::ReserveReport> r) {
        AdmitStart start;
        if (!Reserved(std::move(r), *a, start)) {
          done(std::move(start));
          return;
        }
        start.pending = Pending(principal, request, std::move(*a));
        done(std::move(start));
      });
}

AdmitOutcome Admission::Finish(PendingAdmission pending, const Status& created) {
  AdmitOutcome out;
  Admitted& a = pending.admitted;
  if (!created.ok()) {
    Refund(a.request_id);
    json::object failed{{"request_id", a.request_id},
                        {"status", "failed"},
                        {"error", json::object{{"code", "store_unavailable"},
                                               {"message", created.message()}}}};
    (void)bus_.Publish(a.request_id, events::EventType::kFailed, SerializeJson(failed));
    log::ErrorFor(a.request_id, "recording the request failed: {}", created.message());
    out.failure.status = Unavailable("the request could not be recorded; please retry");
    out.failure.result = "error";
    return out;
  }
  out.admitted = std::move(a);
  return out;
}

}  // namespace inferline::gateway
