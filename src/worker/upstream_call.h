// One request's life on the upstream back-end (openai_upstream_backend.h): the attempts, the
// backoff between them, and the streaming of each attempt's chunks to the request's callbacks.
// RunUpstreamCall returns the result for on_done and what the call says about the upstream's
// health; the backend settles the breaker, the metrics and the concurrency slot.
//
// Thread-safety: a call and its coroutine live on the backend's io thread; only `abort` is
// touched from other threads (Cancel, Shutdown).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <string>

#include "http/abort_signal.h"
#include "http/http_client.h"
#include "worker/openai_upstream_backend.h"
#include "worker/openai_wire.h"
#include "worker/upstream_metrics.h"

namespace inferline::worker {

struct UpstreamCall {
  using Clock = std::chrono::steady_clock;

  protocol::RequestMessage request;
  BackendCallbacks callbacks;
  UpstreamRequest upstream;  // the path and body sent on every attempt
  http::AbortSignal abort;   // Cancel
  Clock::time_point submitted;
  Clock::time_point deadline;  // total_timeout, or the request's own deadline if sooner

  // What the upstream sent so far (io thread).
  std::string text;
  int content_chunks = 0;  // chunks that carried text: the completion tokens if no usage comes
  std::string finish_reason;
  std::optional<protocol::Usage> usage;
  double ttft_seconds = 0;
};

struct UpstreamEnv {
  const OpenAIUpstreamOptions& options;
  http::HttpClient& client;
  UpstreamMetrics& metrics;
  std::mt19937_64& rng;
};

enum class UpstreamHealth { kHealthy, kFailing, kUnknown };

struct CallOutcome {
  BackendResult result;
  UpstreamHealth health = UpstreamHealth::kUnknown;
};

// The deadline of a request submitted now: total_timeout, or the message's deadline_ms if sooner.
UpstreamCall::Clock::time_point CallDeadline(const OpenAIUpstreamOptions& options,
                                             const protocol::RequestMessage& request);

boost::asio::awaitable<CallOutcome> RunUpstreamCall(UpstreamEnv env, UpstreamCall& call);

}  // namespace inferline::worker
