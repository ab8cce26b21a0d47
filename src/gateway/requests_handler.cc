// The asynchronous API: POST /v1/requests (202 ticket), POST /api/gateway (the original
// system's shapes), GET /v1/requests/{id} (status and result), DELETE /v1/requests/{id}.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "common/json_value.h"
#include "gateway/gateway.h"
#include "http/http_error.h"
#include "common/json_writer.h"

namespace inferline::gateway {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
namespace json = boost::json;

namespace {

// The original system's error shape: {"success": false, "error", "message", "status_code"}.
void SeedError(http::RequestContext& ctx, const Status& st, std::string_view error) {
  beast_http::status code = http::HttpStatusFor(st.code());
  json::object o{{"success", false},
                 {"error", error},
                 {"message", st.message()},
                 {"status_code", static_cast<int>(code)}};
  if (!st.param().empty()) o["param"] = st.param();
  ctx.Json(code, o);
}

}  // namespace

asio::awaitable<AdmitOutcome> Gateway::Admit(Ctx& ctx, const Principal& p,
                                             const GenerationRequest& req,
                                             events::EventCallback on_event) {
  // Tokenizing 16 KiB of English takes 1-2 ms here: a body up to 4 KiB holds the I/O thread
  // (and its other connections) for well under a millisecond. Larger prompts go to the pool.
  constexpr size_t kInlineBodyBytes = 4 * 1024;
  const bool small = ctx.body().size() <= kInlineBodyBytes;
  const bool inline_seams = admission_.NonBlocking();
  // Distributed seams with asynchronous forms (Redis, PostgreSQL): admission waits on no thread;
  // this coroutine resumes when the reservation and the `queued` event are done.
  const bool async_seams = !inline_seams && !on_event && admission_.Asynchronous();
  if (!small || (!inline_seams && !async_seams)) {
    co_return co_await RunBlocking(
        pool_, [&] { return admission_.Admit(p, req, std::move(on_event)); });
  }
  // Seams call back on their own threads (or at once); the coroutine resumes on its own
  // executor, always through a post: resuming inside an initiation would let the next step run
  // before it returns.
  auto resume_on = [](auto handler) {
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    return [shared](auto value) {
      auto ex = asio::get_associated_executor(*shared);
      asio::post(ex, [shared, value = std::move(value)]() mutable {
        std::move (*shared)(std::move(value));
      });
    };
  };
  AdmitStart start;
  if (async_seams) {
    start = co_await asio::async_initiate<decltype(asio::use_awaitable), void(AdmitStart)>(
        [&](auto handler) { admission_.BeginAsync(p, req, resume_on(std::move(handler))); },
        asio::use_awaitable);
  } else {
    start = admission_.Begin(p, req, std::move(on_event));
  }
  if (!start.pending) co_return std::move(start.outcome);
  PendingAdmission& pending = *start.pending;
  // A free worker in this process starts generating now, while the record is written; its
  // message is then written already leased to it (and it publishes nothing before the record
  // exists, see Worker::TryStartInProcess).
  if (deps_.start_in_process) pending.outbox.direct = deps_.start_in_process(pending.message);
  Status created = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [&](auto handler) {
        const bool direct = pending.outbox.direct != nullptr;
        const std::string id = pending.record.id;
        // Finish needs neither the record nor the message any more: no copy of the prompt.
        admission_.store().CreateRequestAsync(std::move(pending.record),
                                              std::move(pending.outbox),
                                              resume_on(std::move(handler)));
        if (direct) deps_.in_process_submitted(id);
      },
      asio::use_awaitable);
  if (!created.ok() && !inline_seams) {
    // Finish refunds and closes the event stream through blocking calls.
    co_return co_await RunBlocking(
        pool_, [&] { return admission_.Finish(std::move(pending), created); });
  }
  co_return admission_.Finish(std::move(pending), created);
}

Gateway::Task Gateway::HandleAsync(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  Result<GenerationRequest> parsed =
      ParseGenerationBody(ctx.body(), BodyShape::kAsync, options_.parse_limits);
  if (!parsed.ok()) {
    Count("invalid");
    Reject(ctx, parsed.status());
    co_return;
  }
  if (parsed->stream) {
    Count("invalid");
    Reject(ctx, InvalidArgument("'stream' is not available for asynchronous requests; follow "
                                "events_url instead",
                                "stream"));
    co_return;
  }
  co_await AdmitAsync(ctx, *principal, *parsed);
}

Gateway::Task Gateway::AdmitAsync(Ctx& ctx, const Principal& p, const GenerationRequest& req) {
  AdmitOutcome outcome = co_await Admit(ctx, p, req);
  if (!outcome.admitted) {
    WriteAdmitFailure(ctx, outcome.failure);
    co_return;
  }
  Count(outcome.admitted->unmetered ? "unmetered" : "accepted");
  const Admitted& a = *outcome.admitted;
  ctx.AnnotateLog("generation", a.request_id);
  SetRateLimitHeaders(ctx, a.usage);
  std::string status_url = "/v1/requests/" + a.request_id;
  ctx.SetHeader("Location", status_url);
  // Written directly: every accepted request answers with it.
  std::string body;
  body.reserve(384);
  JsonObjectWriter o(body);
  o.Str("id", a.request_id)
      .Str("request_id", a.request_id)
      .Str("object", "inference.request")
      .Str("status", "queued")
      .Str("model", a.model->name)
      .Int("created", UnixSeconds(a.created_at))
      .Str("status_url", status_url);
  std::string& events_url = o.Key("events_url");
  events_url += '"';
  events_url += status_url;  // an id and a fixed path: nothing to escape
  events_url += "/events\"";
  o.Int("prompt_tokens", a.prompt_tokens)
      .Int("max_tokens", a.prompt.max_tokens)
      .Int("reserved_tokens", a.reserved_tokens)
      .End();
  ctx.Text(beast_http::status::accepted, std::move(body), "application/json");
}

Gateway::Task Gateway::HandleSeed(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  Result<GenerationRequest> parsed =
      ParseGenerationBody(ctx.body(), BodyShape::kSeed, options_.parse_limits);
  if (!parsed.ok()) {
    Count("invalid");
    SeedError(ctx, parsed.status(), "Invalid request");
    co_return;
  }
  GenerationRequest req = std::move(*parsed);
  if (!req.user.empty() && req.user != principal->user_id) {
    Count("invalid");
    SeedError(ctx,
              Status(StatusCode::kPermissionDenied,
                     fmt::format("'user_id' ({}) does not match the API key's user", req.user),
                     "user_id"),
              "Forbidden");
    co_return;
  }
  if (req.model.empty() && deps_.models->Default()) req.model = deps_.models->Default()->name;
  AdmitOutcome outcome = co_await Admit(ctx, *principal, req);
  if (!outcome.admitted) {
    const AdmitFailure& f = outcome.failure;
    Count(f.result);
    if (f.exceeded) {
      ctx.SetHeader("Retry-After", std::to_string(std::max<int64_t>(1, f.exceeded->retry_after.count())));
      SetRateLimitHeaders(ctx, f.usage);
      SeedError(ctx, f.status, "Quota exceeded");
    } else {
      SeedError(ctx, f.status,
                f.status.code() == StatusCode::kNotFound ? "Model not found" : "Request refused");
    }
    co_return;
  }
  Count(outcome.admitted->unmetered ? "unmetered" : "accepted");
  const Admitted& a = *outcome.admitted;
  ctx.AnnotateLog("generation", a.request_id);
  SetRateLimitHeaders(ctx, a.usage);
  ctx.Json(beast_http::status::accepted,
           json::object{{"success", true},
                        {"request_id", a.request_id},
                        {"status", "queued"},
                        {"message", "Request queued for processing"},
                        {"sse_endpoint", "/events/" + a.request_id},
                        {"estimated_tokens", a.reserved_tokens},
                        {"user_id", principal->user_id},
                        {"timestamp", Rfc3339(a.created_at)}});
}

asio::awaitable<std::optional<store::RequestRecord>> Gateway::OwnedRequest(Ctx& ctx,
                                                                           const Principal& p) {
  std::string id(ctx.param("id"));
  Result<store::RequestRecord> rec =
      co_await RunBlocking(pool_, [&] { return deps_.store->GetRequest(id); });
  if (!rec.ok() && rec.status().code() != StatusCode::kNotFound) {
    log::ErrorFor(ctx.request_id(), "reading request {} failed: {}", id, rec.status().ToString());
    Reject(ctx, Unavailable("the request store is temporarily unavailable; please retry"));
    co_return std::nullopt;
  }
  // Another user's request is reported exactly like a missing one.
  if (!rec.ok() || (rec->user_id != p.user_id && !p.is_admin)) {
    Reject(ctx,
           Status(StatusCode::kNotFound, fmt::format("No request found with id '{}'.", id), "id"),
           "invalid_request_error", "request_not_found");
    co_return std::nullopt;
  }
  co_return std::move(*rec);
}

Gateway::Task Gateway::GetRequest(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  std::optional<store::RequestRecord> rec = co_await OwnedRequest(ctx, *principal);
  if (!rec) co_return;
  ctx.Json(beast_http::status::ok, RequestDocument(*rec));
}

Gateway::Task Gateway::ListRequests(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  std::string user = principal->user_id;
  if (auto other = ctx.query("user"); other && *other != user) {
    if (!RequireAdmin(ctx, *principal)) co_return;
    user = std::move(*other);
  }
  std::optional<store::PageRequest> page = PageQuery(ctx, 20);
  if (!page) co_return;
  Result<store::Page<store::RequestRecord>> listed = co_await RunBlocking(
      pool_, [&] { return deps_.store->ListRequestsByUser(user, *page); });
  if (!listed.ok()) {
    if (listed.status().code() == StatusCode::kInvalidArgument && !page->cursor.empty()) {
      co_return Reject(ctx, InvalidArgument("'cursor' must be the next_cursor of a previous page",
                                            "cursor"));
    }
    log::ErrorFor(ctx.request_id(), "listing the requests of {} failed: {}", user,
                  listed.status().ToString());
    co_return Reject(ctx, Unavailable("the request store is temporarily unavailable; please retry"));
  }
  json::array data;
  data.reserve(listed->items.size());
  for (const store::RequestRecord& rec : listed->items) data.push_back(RequestDocument(rec));
  json::value next = listed->next_cursor.empty() ? json::value(nullptr)
                                                 : json::value(listed->next_cursor);
  ctx.Json(beast_http::status::ok, json::object{{"object", "list"},
                                                {"data", std::move(data)},
                                                {"has_more", !listed->next_cursor.empty()},
                                                {"next_cursor", std::move(next)}});
}

Result<store::CancelResult> Gateway::Cancel(const std::string& id) {
  const store::Time now = store::Clock::now();
  ASSIGN_OR_RETURN(store::CancelResult r, deps_.store->CancelRequest(id, now));
  if (!r.cancelled) return r;
  if (r.previous == store::RequestStatus::kQueued) {
    // It never ran: the whole reservation, request included, goes back at once.
    Result<bool> settled = deps_.ledger->Settle(id, 0, now, 0);
    if (!settled.ok()) {
      log::ErrorFor(id, "refunding the cancelled request failed: {}", settled.status().ToString());
    }
  } else if (deps_.cancel_running) {
    // Its worker stops generating; the collector settles what it actually spent.
    deps_.cancel_running(id);
  }
  json::object data{{"request_id", id},
                    {"status", "cancelled"},
                    {"previous_status", store::RequestStatusName(r.previous)}};
  Result<int64_t> published =
      deps_.bus->Publish(id, events::EventType::kCancelled, SerializeJson(data));
  if (!published.ok() && published.status().code() != StatusCode::kFailedPrecondition) {
    log::WarnFor(id, "publishing the cancelled event failed: {}", published.status().message());
  }
  return r;
}

Gateway::Task Gateway::DeleteRequest(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  std::optional<store::RequestRecord> rec = co_await OwnedRequest(ctx, *principal);
  if (!rec) co_return;
  Result<store::CancelResult> r = co_await RunBlocking(pool_, [&] { return Cancel(rec->id); });
  if (!r.ok()) {
    log::ErrorFor(ctx.request_id(), "cancelling {} failed: {}", rec->id, r.status().ToString());
    Reject(ctx, Unavailable("the request could not be cancelled; please retry"));
    co_return;
  }
  if (!r->cancelled) {
    Reject(ctx,
           FailedPrecondition(fmt::format("Request '{}' has already finished ({}).", rec->id,
                                          store::RequestStatusName(r->previous))),
           "invalid_request_error", "request_already_finished");
    co_return;
  }
  ctx.Json(beast_http::status::ok,
           json::object{{"id", rec->id},
                        {"object", "inference.request"},
                        {"status", "cancelled"},
                        {"previous_status", store::RequestStatusName(r->previous)},
                        {"refunded", r->previous == store::RequestStatus::kQueued}});
}

}  // namespace inferline::gateway
