// OpenAIUpstreamBackend: the ModelBackend that forwards each request to an OpenAI-compatible
// server (vLLM, llama.cpp's server, TGI's OpenAI API, ...) instead of running a model itself.
//
// Each request becomes one streaming POST to {base_url}/completions, or /chat/completions when
// the message carries chat messages (openai_wire.h); the server-sent chunks come back as
// on_token pieces as they arrive, and usage comes from the upstream's final usage chunk.
//
// Around each request:
// - Retries: connection errors, timeouts, 429 and 5xx are tried again (exponential backoff with
//   jitter; a Retry-After is honoured, up to max_retry_after), but only while no token has been
//   streamed: once output has started, retrying would duplicate text, so the request fails with
//   the text so far. Other 4xx answers fail at once with the upstream's message.
// - Concurrency: at most max_concurrency requests in flight; FreeSlots() is what is left.
// - Circuit breaker (circuit_breaker.h): after breaker_failures requests in a row failed because
//   of the upstream, Submit fails fast with Unavailable ("upstream circuit open"), so the Worker
//   gives the message back to the queue, and FreeSlots() is 0; after breaker_open_for one probe
//   request goes through, and its outcome closes or reopens the circuit.
// - Cancel closes the upstream connection (vLLM aborts a request whose client went away) and
//   reports finish_reason "cancelled" with the usage so far.
// - Failure codes: Unavailable (the upstream is down or overloaded; the Worker requeues) only
//   before any output; DeadlineExceeded for timeouts; InvalidArgument when the upstream rejected
//   the request (400, 413, 422); FailedPrecondition for other 4xx (a wrong key or model name);
//   Internal for a stream that broke after output had started.
//
// The backend owns one io thread, on which every upstream exchange and every callback runs (so
// callbacks never overlap); Submit, Cancel and Shutdown post to it. One thread carries hundreds
// of streams: it only parses chunks and hands pieces on.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "worker/circuit_breaker.h"
#include "worker/model_backend.h"

namespace inferline::worker {

struct OpenAIUpstreamOptions {
  std::string base_url;  // "http://host:port/v1" (config: worker.upstream.url)
  std::string api_key;   // a secret, sent as "Authorization: Bearer <key>"; never logged
  std::string model;     // the upstream's model name; empty: the request's model
  int max_concurrency = 32;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds first_byte_timeout{60'000};  // request sent -> response headers
  std::chrono::milliseconds idle_timeout{60'000};        // the longest silence mid-stream
  std::chrono::milliseconds total_timeout{600'000};      // one request, retries included
  int max_retries = 2;                                   // attempts after the first
  std::chrono::milliseconds retry_backoff{250};          // the first retry's delay, doubled after
  std::chrono::milliseconds max_retry_backoff{5'000};
  std::chrono::milliseconds max_retry_after{30'000};  // a longer Retry-After: fail, do not wait
  int breaker_failures = 5;
  std::chrono::milliseconds breaker_open_for{10'000};
};

// InvalidArgument naming the option at fault (a URL that is not http://host[:port]/path, a
// non-positive limit or timeout).
[[nodiscard]] Status Validate(const OpenAIUpstreamOptions& options);

class OpenAIUpstreamBackend final : public ModelBackend {
 public:
  // Validates the options and starts the io thread. `registry` must outlive the backend.
  static Result<std::unique_ptr<OpenAIUpstreamBackend>> Create(
      OpenAIUpstreamOptions options, metrics::Registry& registry = metrics::Registry::Default());
  ~OpenAIUpstreamBackend() override;  // Shutdown()
  OpenAIUpstreamBackend(const OpenAIUpstreamBackend&) = delete;
  OpenAIUpstreamBackend& operator=(const OpenAIUpstreamBackend&) = delete;

  Result<std::unique_ptr<BackendHandle>> Submit(const protocol::RequestMessage& request,
                                                BackendCallbacks callbacks) override;
  int FreeSlots() const override;
  int ActiveSequences() const override;
  // Cancels what is running (each gets on_done), refuses new Submits and joins the io thread.
  // Called from a callback (on the io thread), it only cancels; the destructor joins.
  void Shutdown() override;

  // For readiness checks and tests.
  CircuitBreaker::State circuit_state() const;

  class Impl;

 private:
  explicit OpenAIUpstreamBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferline::worker
