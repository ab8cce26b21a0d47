#include "worker/upstream_call.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "http/sse_parser.h"

namespace inferline::worker {

namespace asio = boost::asio;
using Clock = UpstreamCall::Clock;
using std::chrono::milliseconds;

namespace {

constexpr size_t kMaxErrorBodyBytes = 64 * 1024;

struct AttemptOutcome {
  Status status;
  bool retryable = false;
  bool upstream_failed = false;  // counts against the upstream's health
  std::optional<milliseconds> retry_after;
};

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The attempt-th retry's delay: retry_backoff doubled per attempt, capped, with jitter in
// [delay/2, delay] so that workers that failed together do not retry together.
milliseconds BackoffDelay(const OpenAIUpstreamOptions& o, int attempt, std::mt19937_64& rng) {
  int64_t delay = o.retry_backoff.count();
  for (int i = 0; i < attempt && delay < o.max_retry_backoff.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, o.max_retry_backoff.count());
  std::uniform_int_distribution<int64_t> jitter(delay / 2, std::max<int64_t>(delay, 0));
  return milliseconds(jitter(rng));
}

void OnChunk(UpstreamCall& call, const UpstreamChunk& chunk) {
  if (!chunk.text.empty()) {
    if (call.content_chunks == 0) call.ttft_seconds = SecondsSince(call.submitted);
    call.text += chunk.text;
    if (call.callbacks.on_token) call.callbacks.on_token(chunk.text, call.content_chunks);
    ++call.content_chunks;
  }
  if (!chunk.finish_reason.empty()) call.finish_reason = chunk.finish_reason;
  if (chunk.usage) call.usage = chunk.usage;
}

// The usage of what happened so far. Without the upstream's usage chunk it is counted here:
// the prompt as the gateway counted it (once output shows the prompt went through the model)
// and one completion token per content chunk (vLLM and llama.cpp send one token per chunk).
protocol::Usage UsageSoFar(const UpstreamCall& call) {
  if (call.usage) return *call.usage;
  protocol::Usage u;
  u.prompt_tokens = call.content_chunks > 0 ? call.request.prompt_tokens : 0;
  u.completion_tokens = call.content_chunks;
  return u;
}

AttemptOutcome FromHttpStatus(unsigned status, std::string_view error_body,
                              std::optional<milliseconds> retry_after) {
  std::string message = UpstreamErrorMessage(error_body);
  AttemptOutcome a;
  if (status == 429 || status >= 500) {
    a.status = Unavailable(fmt::format("the upstream answered {}: {}", status, message));
    a.retryable = true;
    a.upstream_failed = true;
    a.retry_after = retry_after;
  } else if (status == 400 || status == 413 || status == 422) {
    a.status = InvalidArgument(fmt::format("the upstream rejected the request ({}): {}", status,
                                           message));
  } else {
    a.status = FailedPrecondition(fmt::format("the upstream answered {}: {}", status, message));
  }
  return a;
}

http::ClientRequest MakeRequest(const OpenAIUpstreamOptions& o, const UpstreamCall& call) {
  http::ClientRequest req;
  req.method = boost::beast::http::verb::post;
  req.url = o.base_url + call.upstream.path;
  req.body = call.upstream.body;
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Accept", "text/event-stream");
  if (!o.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + o.api_key);
  return req;
}

// One POST and its stream.
asio::awaitable<AttemptOutcome> Attempt(UpstreamEnv env, UpstreamCall& call) {
  const OpenAIUpstreamOptions& o = env.options;
  // Left over from an attempt that failed before any text (else there is no retry).
  call.finish_reason.clear();
  call.usage.reset();
  http::StreamOptions so;
  so.connect_timeout = o.connect_timeout;
  so.header_timeout = o.first_byte_timeout;
  so.idle_timeout = o.idle_timeout;
  so.deadline = call.deadline;
  so.abort = &call.abort;

  unsigned status = 0;
  std::string content_type, error_body;
  std::optional<milliseconds> retry_after;
  http::SseParser parser;
  std::vector<http::SseEvent> events;
  bool done = false;  // [DONE] arrived
  Status stream_error;
  http::StreamHandlers handlers;
  handlers.on_headers = [&](const http::ResponseHead& head) {
    status = head.result_int();
    content_type = std::string(head[boost::beast::http::field::content_type]);
    retry_after = ParseRetryAfter(head["Retry-After"], std::chrono::system_clock::now());
    return true;
  };
  handlers.on_body = [&](std::string_view piece) {
    if (status != 200) {
      error_body.append(piece.substr(0, kMaxErrorBodyBytes - error_body.size()));
      return error_body.size() < kMaxErrorBodyBytes;
    }
    events.clear();
    if (Status st = parser.Feed(piece, &events); !st.ok()) {
      stream_error = st;
      return false;
    }
    for (const http::SseEvent& ev : events) {
      if (done) break;
      if (ev.data == "[DONE]") {
        done = true;
        break;
      }
      Result<UpstreamChunk> chunk = ParseUpstreamChunk(ev.data, call.upstream.chat);
      if (!chunk.ok()) {
        stream_error = chunk.status();
        return false;
      }
      OnChunk(call, *chunk);
    }
    return true;
  };
  Result<http::StreamSummary> r =
      co_await env.client.SendStreaming(MakeRequest(o, call), std::move(so), std::move(handlers));

  std::string code_label = status != 0 ? std::to_string(status)
                           : call.abort.aborted() ? "cancelled"
                           : r.status().code() == StatusCode::kDeadlineExceeded ? "timeout"
                                                                                 : "connect_error";
  env.metrics.requests_total.With({code_label}).Inc();

  AttemptOutcome a;
  if (call.abort.aborted()) {
    a.status = Cancelled("the request was cancelled");
    co_return a;
  }
  if (status != 0 && status != 200) co_return FromHttpStatus(status, error_body, retry_after);
  if (done || (r.ok() && !call.finish_reason.empty() && stream_error.ok())) co_return a;  // ok
  a.retryable = true;
  a.upstream_failed = true;
  if (!stream_error.ok()) {
    a.status = stream_error;
  } else if (!r.ok()) {
    a.status = r.status().code() == StatusCode::kCancelled
                   ? Unavailable(r.status().message())
                   : r.status();
    a.retryable = r.status().code() != StatusCode::kResourceExhausted;
  } else if (content_type.find("text/event-stream") == std::string::npos) {
    a.status = FailedPrecondition(fmt::format(
        "the upstream did not stream its answer (Content-Type \"{}\")", content_type));
    a.retryable = false;
  } else {
    a.status = Unavailable("the upstream's stream ended before the answer was finished");
  }
  co_return a;
}

// Waits `delay`; false if the call was cancelled meanwhile.
asio::awaitable<bool> Sleep(UpstreamCall& call, milliseconds delay) {
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, delay);
  http::AbortSignal::Attachment attached(&call.abort, ex, [&timer] { timer.cancel(); });
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !call.abort.aborted();
}

CallOutcome Finished(UpstreamCall& call, std::string finish_reason, Status error,
                     UpstreamHealth health) {
  CallOutcome out;
  out.health = health;
  out.result.output_text = std::move(call.text);
  out.result.finish_reason = std::move(finish_reason);
  out.result.usage = UsageSoFar(call);
  out.result.ttft_seconds = call.ttft_seconds;
  out.result.error = std::move(error);
  return out;
}

}  // namespace

Clock::time_point CallDeadline(const OpenAIUpstreamOptions& options,
                               const protocol::RequestMessage& request) {
  Clock::time_point deadline = Clock::now() + options.total_timeout;
  if (request.deadline_ms > 0) {
    int64_t now_ms = std::chrono::duration_cast<milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    deadline = std::min(deadline, Clock::now() + milliseconds(request.deadline_ms - now_ms));
  }
  return deadline;
}

asio::awaitable<CallOutcome> RunUpstreamCall(UpstreamEnv env, UpstreamCall& call) {
  const std::string& id = call.request.request_id;
  if (Clock::now() >= call.deadline) {
    co_return Finished(call, "error", DeadlineExceeded("the request's deadline passed"),
                       UpstreamHealth::kUnknown);
  }
  for (int attempt = 0;; ++attempt) {
    AttemptOutcome a = co_await Attempt(env, call);
    if (call.abort.aborted()) {
      co_return Finished(call, "cancelled", Status::Ok(), UpstreamHealth::kUnknown);
    }
    if (a.status.ok()) {
      std::string reason = NormalizeFinishReason(call.finish_reason);
      co_return Finished(call, reason, Status::Ok(), UpstreamHealth::kHealthy);
    }
    const UpstreamHealth health =
        a.upstream_failed ? UpstreamHealth::kFailing : UpstreamHealth::kHealthy;
    // Never again once output has started: the client has that text already.
    bool retry = a.retryable && call.content_chunks == 0 && attempt < env.options.max_retries;
    milliseconds delay = BackoffDelay(env.options, attempt, env.rng);
    if (retry && a.retry_after) {
      retry = *a.retry_after <= env.options.max_retry_after;
      delay = std::max(delay, *a.retry_after);
    }
    if (retry && Clock::now() + delay >= call.deadline) retry = false;
    if (!retry) {
      Status error = a.status;
      if (call.content_chunks > 0 && error.code() == StatusCode::kUnavailable) {
        // Not Unavailable: the Worker would requeue it and the text so far would be sent twice.
        error = Internal(fmt::format("{} (after {} streamed chunks)", error.message(),
                                     call.content_chunks));
      }
      co_return Finished(call, "error", std::move(error), health);
    }
    env.metrics.retries_total.Inc();
    log::WarnFor(id, "upstream attempt {} failed ({}); retrying in {} ms", attempt + 1,
                 a.status.ToString(), delay.count());
    if (!co_await Sleep(call, delay)) {
      co_return Finished(call, "cancelled", Status::Ok(), UpstreamHealth::kUnknown);
    }
  }
}

}  // namespace inferline::worker
