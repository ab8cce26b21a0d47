// POST /v1/completions and /v1/chat/completions: admit, then answer when the result arrives
// (or stream it as OpenAI chunks, or hand out a 202 ticket with Prefer: respond-async).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "common/json_value.h"
#include "gateway/event_inbox.h"
#include "gateway/gateway.h"
#include "gateway/openai_format.h"
#include "http/connection.h"
#include "http/http_error.h"
#include "http/sse_writer.h"

namespace inferline::gateway {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
namespace json = boost::json;
using WaitResult = http::AsyncSignal::WaitResult;

namespace {

bool PrefersAsync(std::string_view prefer) {
  return prefer.find("respond-async") != std::string_view::npos;
}

ResponseHeader HeaderFor(const Admitted& a, const GenerationRequest& req) {
  return ResponseHeader{a.request_id, UnixSeconds(a.created_at), a.model->name, req.kind};
}

// The error a sync client gets for a request that did not complete.
Status UnfinishedStatus(const FinalResult& f, std::string* type, std::string* code) {
  switch (f.status) {
    case store::RequestStatus::kExpired:
      *type = "timeout";
      *code = "request_expired";
      return DeadlineExceeded("The request expired before it could be completed.");
    case store::RequestStatus::kCancelled:
      *type = "invalid_request_error";
      *code = "request_cancelled";
      return FailedPrecondition("The request was cancelled.");
    default:
      *type = "server_error";
      *code = f.error_code.empty() ? "generation_failed" : f.error_code;
      return Internal(f.error_message.empty() ? "The request failed." : f.error_message);
  }
}

}  // namespace

Gateway::Task Gateway::HandleCompletions(Ctx& ctx, BodyShape shape) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  Result<GenerationRequest> parsed = ParseGenerationBody(ctx.body(), shape, options_.parse_limits);
  if (!parsed.ok()) {
    Count("invalid");
    Reject(ctx, parsed.status());
    co_return;
  }
  if (PrefersAsync(ctx.header("Prefer"))) {
    if (parsed->stream) {
      Count("invalid");
      Reject(ctx, InvalidArgument("'stream' cannot be combined with Prefer: respond-async",
                                  "stream"));
      co_return;
    }
    co_await AdmitAsync(ctx, *principal, *parsed);
    co_return;
  }
  GenerationRequest req = std::move(*parsed);
  auto inbox = std::make_shared<EventInbox>(/*terminal_only=*/!req.stream);
  AdmitOutcome outcome = co_await Admit(ctx, *principal, req, inbox->Callback());
  if (!outcome.admitted) {
    WriteAdmitFailure(ctx, outcome.failure);
    co_return;
  }
  Count(outcome.admitted->unmetered ? "unmetered" : "accepted");
  Admitted& a = *outcome.admitted;
  ctx.AnnotateLog("generation", a.request_id);
  SetRateLimitHeaders(ctx, a.usage);
  ctx.SetHeader("x-inferline-request-id", a.request_id);
  if (req.stream) {
    co_await StreamAnswer(ctx, a, req, inbox);
  } else {
    co_await WaitAndAnswer(ctx, a, req, inbox);
  }
  // A distributed bus may block to unsubscribe: do it on a pool thread, without holding up the
  // answer, which goes out when this handler returns. The in-process bus never blocks.
  if (options_.admission.in_process_seams) {
    a.subscription.Reset();
  } else {
    RunDetached(pool_, [s = std::make_shared<events::Subscription>(std::move(a.subscription))] {
      s->Reset();
    });
  }
}

asio::awaitable<std::optional<FinalResult>> Gateway::ResultOf(const std::string& id,
                                                              const events::Event& ev) {
  if (std::optional<FinalResult> f = FinalFromEvent(ev)) co_return f;
  Result<store::RequestRecord> rec =
      co_await RunBlocking(pool_, [&] { return deps_.store->GetRequest(id); });
  if (!rec.ok()) {
    log::ErrorFor(id, "reading the finished request failed: {}", rec.status().ToString());
    co_return std::nullopt;
  }
  FinalResult f = FinalFromRecord(*rec);
  if (!store::IsTerminal(rec->status)) {
    f.status = store::RequestStatus::kFailed;  // cannot happen: finalize precedes the event
    f.error_code = "inconsistent_state";
  }
  co_return f;
}

asio::awaitable<void> Gateway::CancelForDisconnect(const std::string& request_id) {
  Result<store::CancelResult> r = co_await RunBlocking(pool_, [&] { return Cancel(request_id); });
  if (!r.ok()) {
    log::WarnFor(request_id, "cancelling after the client disconnected failed: {}",
                 r.status().ToString());
  } else if (r->cancelled) {
    log::InfoFor(request_id, "client disconnected; request cancelled (was {})",
                 store::RequestStatusName(r->previous));
  }
}

Gateway::Task Gateway::WaitAndAnswer(Ctx& ctx, const Admitted& a, const GenerationRequest& req,
                                     std::shared_ptr<EventInbox> inbox) {
  http::Connection& conn = ctx.connection();
  conn.WatchForPeerClose();  // a client that hangs up cancels its request
  const store::Time give_up = a.created_at +
                              (req.timeout_seconds
                                   ? std::chrono::milliseconds(
                                         static_cast<int64_t>(*req.timeout_seconds * 1000))
                                   : std::chrono::milliseconds(options_.admission.default_timeout)) +
                              options_.sync_grace;
  std::optional<events::Event> terminal;
  while (!terminal) {
    for (auto& ev : inbox->Drain()) {
      if (events::IsTerminal(ev.type)) {
        terminal = std::move(ev);
        break;
      }
    }
    if (terminal) break;
    if (conn.peer_gone()) {
      co_await CancelForDisconnect(a.request_id);
      co_return;
    }
    WaitResult w = co_await inbox->Wait(options_.sse_keepalive);
    if (w == WaitResult::kCancelled) {
      if (conn.peer_gone()) co_await CancelForDisconnect(a.request_id);
      Reject(ctx, Unavailable("The server is shutting down; the request continues: poll " +
                              std::string("/v1/requests/") + a.request_id));
      co_return;
    }
    if (w == WaitResult::kTimeout && store::Clock::now() > give_up) {
      Reject(ctx, DeadlineExceeded("No result within the request's deadline; poll /v1/requests/" +
                                   a.request_id),
             "timeout", "timeout");
      co_return;
    }
  }
  std::optional<FinalResult> final = co_await ResultOf(a.request_id, *terminal);
  if (!final) {
    Reject(ctx, Internal("The result could not be read; poll /v1/requests/" + a.request_id));
    co_return;
  }
  if (final->status != store::RequestStatus::kCompleted) {
    std::string type, code;
    Status st = UnfinishedStatus(*final, &type, &code);
    Reject(ctx, st, type, code);
    co_return;
  }
  std::string text = final->output_text;
  if (req.echo && req.kind == protocol::RequestKind::kCompletion) text = req.prompt + text;
  ctx.Json(beast_http::status::ok,
           CompletionResponse(HeaderFor(a, req), text, final->finish_reason, final->usage));
}

Gateway::Task Gateway::StreamAnswer(Ctx& ctx, const Admitted& a, const GenerationRequest& req,
                                    std::shared_ptr<EventInbox> inbox) {
  const ResponseHeader head = HeaderFor(a, req);
  const bool chat = req.kind == protocol::RequestKind::kChat;
  http::SseWriter sse(ctx);
  // A coroutine, so that the serialized chunk outlives the write (SendData takes a view).
  auto send = [&](const json::object& chunk) -> asio::awaitable<bool> {
    std::string data = SerializeJson(chunk);
    co_return co_await sse.SendData(data);
  };
  bool ok = co_await sse.Start();
  if (ok && chat) ok = co_await send(CompletionChunk(head, "", std::nullopt, true, req.include_usage));
  if (ok && req.echo && !chat) {
    ok = co_await send(CompletionChunk(head, req.prompt, std::nullopt, false, req.include_usage));
  }
  std::string streamed;      // text sent to the client
  std::string attempt_text;  // text of the current generation attempt
  std::optional<events::Event> terminal;
  auto last_activity = std::chrono::steady_clock::now();
  while (ok && !terminal) {
    for (auto& ev : inbox->Drain()) {
      if (events::IsTerminal(ev.type)) {
        terminal = std::move(ev);
        break;
      }
      if (ev.type == events::EventType::kStarted) {
        // A second `started` means the generation restarted (redelivery): its text is
        // regenerated from the beginning, and only what goes beyond what was sent is new.
        attempt_text.clear();
        continue;
      }
      if (ev.type != events::EventType::kToken) continue;
      std::optional<std::string> piece = TokenText(ev.data);
      if (!piece || piece->empty()) continue;
      attempt_text += *piece;
      std::string_view fresh = *piece;
      if (attempt_text.size() <= streamed.size()) {
        fresh = {};  // already sent by the previous attempt
      } else if (attempt_text.compare(0, streamed.size(), streamed) == 0) {
        fresh = std::string_view(attempt_text).substr(streamed.size());
      }
      if (fresh.empty()) continue;
      streamed += fresh;
      ok = co_await send(CompletionChunk(head, fresh, std::nullopt, false, req.include_usage));
      if (!ok) break;
      last_activity = std::chrono::steady_clock::now();
    }
    if (!ok || terminal) break;
    WaitResult w = co_await inbox->Wait(options_.sse_keepalive);
    if (w == WaitResult::kCancelled || !sse.ok()) {
      ok = false;
      break;
    }
    if (w == WaitResult::kTimeout &&
        std::chrono::steady_clock::now() - last_activity >= options_.sse_keepalive) {
      ok = co_await sse.Comment("keep-alive");
      last_activity = std::chrono::steady_clock::now();
    }
  }
  if (!ok || !terminal) {
    if (ctx.connection().peer_gone() || !sse.ok()) co_await CancelForDisconnect(a.request_id);
    co_return;
  }
  std::optional<FinalResult> final = co_await ResultOf(a.request_id, *terminal);
  if (!final || final->status != store::RequestStatus::kCompleted) {
    std::string type = "server_error", code = "internal_error";
    Status st = final ? UnfinishedStatus(*final, &type, &code)
                      : Internal("The result could not be read.");
    std::string body = SerializeJson(http::ErrorBody(st, type, code));
    (void)co_await sse.SendData(body);
    (void)co_await sse.SendData("[DONE]");
    co_return;
  }
  // The pieces must add up to the final text; send whatever the token events did not carry.
  const std::string& text = final->output_text;
  if (text.size() > streamed.size() && text.compare(0, streamed.size(), streamed) == 0) {
    std::string_view rest = std::string_view(text).substr(streamed.size());
    if (!co_await send(CompletionChunk(head, rest, std::nullopt, false, req.include_usage))) {
      co_return;
    }
  } else if (text != streamed) {
    log::WarnFor(a.request_id, "streamed text ({} bytes) differs from the final text ({} bytes)",
                 streamed.size(), text.size());
  }
  if (!co_await send(CompletionChunk(head, "", final->finish_reason, false, req.include_usage))) {
    co_return;
  }
  if (req.include_usage && !co_await send(UsageChunk(head, final->usage))) co_return;
  (void)co_await sse.SendData("[DONE]");
}

}  // namespace inferline::gateway
