// GET /v1/requests/{id}/events and GET /events/{id}: a request's lifecycle as server-sent
// events, `id:` on every event, replay after Last-Event-ID, keep-alive comments, an idle
// timeout, and the end of the stream after the terminal event.
//
// Every stream starts with `queued`, id 1, which this route derives from the record (admission
// does not publish it); the bus's events follow it, bus id n as SSE id n + 1. So
// Last-Event-ID: k replays the bus after k - 1, and a client without one (or with 0) gets
// `queued` first.
//
// When the bus no longer holds the request's history (a restart, or retention ran out), the
// stream is synthesized from the stored record: a finished request gets its terminal event
// (id = the client's last id + 1); one that started more than 5 s ago gets a `started` event
// with id 1 (so a reconnect replays the whole new stream of a request re-run after a crash)
// followed by live events, and the record is re-read every second in case the result was
// missed. A queued request has no bus events yet; its record is re-read at the keep-alive
// period instead. A `queued` event on the bus (an older gateway published it) is skipped.
#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>

#include "common/log.h"
#include "gateway/event_inbox.h"
#include "gateway/gateway.h"
#include "http/sse_writer.h"

namespace inferline::gateway {
namespace asio = boost::asio;
using WaitResult = http::AsyncSignal::WaitResult;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::optional<int64_t> ParseEventId(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// A running request whose stream the bus does not have: lost (a Redis restart, or retention
// ran out) only if it started a while ago; just after MarkRunning commits, the worker has not
// published `started` yet.
bool HistoryLost(const store::RequestRecord& rec) {
  return rec.started_at && store::Clock::now() - *rec.started_at > std::chrono::seconds(5);
}

}  // namespace

Gateway::Task Gateway::StreamEvents(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  std::optional<store::RequestRecord> rec = co_await OwnedRequest(ctx, *principal);
  if (!rec) co_return;

  int64_t after = 0;
  std::string last_id(ctx.header("Last-Event-ID"));
  std::string param = "Last-Event-ID";
  if (std::optional<std::string> q = ctx.query("last_event_id"); q && last_id.empty()) {
    last_id = *q;
    param = "last_event_id";
  }
  if (!last_id.empty()) {
    std::optional<int64_t> parsed = ParseEventId(last_id);
    if (!parsed) {
      Reject(ctx, InvalidArgument(fmt::format("'{}' must be a non-negative event id", param), param));
      co_return;
    }
    after = *parsed;
  }

  const std::string id = rec->id;
  const int64_t bus_after = after > 1 ? after - 1 : 0;  // SSE id = bus id + 1
  auto inbox = std::make_shared<EventInbox>();
  Result<events::SubscribeResult> sub = co_await RunBlocking(
      pool_, [&] { return deps_.bus->Subscribe(id, bus_after, inbox->Callback()); });
  if (!sub.ok()) {
    log::ErrorFor(ctx.request_id(), "subscribing to {} failed: {}", id, sub.status().ToString());
    Reject(ctx, Unavailable("events are temporarily unavailable; please retry"));
    co_return;
  }
  events::Subscription subscription = std::move(sub->subscription);

  http::SseWriter sse(ctx);
  bool ok = co_await sse.Start();
  int64_t last_sent = after;  // SSE ids
  bool ended = false;
  if (ok && after < 1) {
    ok = co_await sse.Send(events::EventTypeName(events::EventType::kQueued), "1",
                           QueuedEventData(*rec));
    last_sent = 1;
  }
  // The bus knows nothing of this request: nothing happened yet (queued), or its history is
  // gone.
  const bool history_gone = sub->last_id == 0 && !sub->terminal;
  bool watch_store = false;
  SteadyClock::duration watch_every = std::chrono::seconds(1);
  auto send_terminal_from = [&](const store::RequestRecord& r) -> asio::awaitable<bool> {
    std::string data = TerminalEventData(r);
    std::string event_id = std::to_string(last_sent + 1);
    co_return co_await sse.Send(events::EventTypeName(TerminalEventFor(r.status)), event_id, data);
  };
  if (ok && history_gone) {
    if (store::IsTerminal(rec->status)) {
      (void)co_await send_terminal_from(*rec);
      ended = true;
    } else if (rec->status == store::RequestStatus::kRunning && HistoryLost(*rec)) {
      ok = co_await sse.Send(events::EventTypeName(events::EventType::kStarted), "1",
                             StatusEventData(*rec));
      last_sent = 1;
      watch_store = true;
    } else if (rec->status == store::RequestStatus::kRunning) {
      // Just marked running: the worker publishes `started` right after that commit.
      watch_store = true;
    } else {
      watch_store = true;  // in case its events are lost before this subscription sees them
      watch_every = options_.sse_keepalive;
    }
  } else if (store::IsTerminal(rec->status) && !sub->terminal) {
    watch_store = true;  // finalized, terminal event not yet (or no longer) on the bus
  }

  auto last_activity = SteadyClock::now();
  auto last_event = SteadyClock::now();
  while (ok && !ended) {
    for (auto& ev : inbox->Drain()) {
      if (ev.type == events::EventType::kQueued) continue;  // published by an older gateway
      ok = co_await sse.Send(events::EventTypeName(ev.type), std::to_string(ev.id + 1), ev.data);
      last_sent = ev.id + 1;
      last_activity = last_event = SteadyClock::now();
      if (!ok || events::IsTerminal(ev.type)) {
        ended = events::IsTerminal(ev.type);
        break;
      }
    }
    // A stream that had ended when we subscribed was replayed in full: nothing more will come.
    if (!ok || ended || sub->terminal) break;
    auto tick = watch_store ? std::min<SteadyClock::duration>(watch_every, options_.sse_keepalive)
                            : SteadyClock::duration(options_.sse_keepalive);
    WaitResult w = co_await inbox->Wait(tick);
    if (w == WaitResult::kCancelled || ctx.stopping()) break;
    if (w != WaitResult::kTimeout) continue;
    auto now = SteadyClock::now();
    if (now - last_event >= options_.sse_idle_timeout) {
      (void)co_await sse.Comment("idle timeout; reconnect with Last-Event-ID to resume");
      break;
    }
    if (watch_store) {
      Result<store::RequestRecord> fresh =
          co_await RunBlocking(pool_, [&] { return deps_.store->GetRequest(id); });
      if (fresh.ok() && store::IsTerminal(fresh->status)) {
        // Events that arrived meanwhile go first; the record stands in for a missing end.
        bool got_terminal = false;
        for (auto& ev : inbox->Drain()) {
          if (ev.type == events::EventType::kQueued) continue;
          ok = co_await sse.Send(events::EventTypeName(ev.type), std::to_string(ev.id + 1),
                                 ev.data);
          last_sent = ev.id + 1;
          got_terminal = events::IsTerminal(ev.type);
          if (!ok || got_terminal) break;
        }
        if (ok && !got_terminal) (void)co_await send_terminal_from(*fresh);
        break;
      }
    }
    if (now - last_activity >= options_.sse_keepalive) {
      ok = co_await sse.Comment("keep-alive");
      last_activity = now;
    }
  }
  // Unsubscribe on a pool thread (a distributed bus may block), not holding up the stream's end.
  RunDetached(pool_, [s = std::make_shared<events::Subscription>(std::move(subscription))] {
    s->Reset();
  });
}

}  // namespace inferline::gateway
