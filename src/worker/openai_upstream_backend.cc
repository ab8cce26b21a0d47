#include "worker/openai_upstream_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/thread_name.h"
#include "http/http_client.h"
#include "worker/upstream_call.h"
#include "worker/upstream_metrics.h"

namespace inferline::worker {

namespace asio = boost::asio;

namespace {

class UpstreamHandle final : public BackendHandle {
 public:
  explicit UpstreamHandle(std::weak_ptr<UpstreamCall> call) : call_(std::move(call)) {}
  // Aborting posts to the io thread, which closes the connection or ends the backoff wait.
  void Cancel() override {
    if (auto call = call_.lock()) call->abort.Abort();
  }

 private:
  std::weak_ptr<UpstreamCall> call_;
};

Status Positive(std::chrono::milliseconds v, std::string_view name) {
  if (v.count() > 0) return Status::Ok();
  return InvalidArgument(fmt::format("upstream {} must be positive", name));
}

}  // namespace

Status Validate(const OpenAIUpstreamOptions& o) {
  if (o.base_url.empty()) return InvalidArgument("the upstream URL is empty (worker.upstream.url)");
  if (Result<http::HttpClient::Target> t = http::HttpClient::ParseUrl(o.base_url); !t.ok()) {
    return InvalidArgument(fmt::format("the upstream URL (worker.upstream.url) is not usable: {}",
                                       t.status().message()));
  }
  if (o.max_concurrency < 1) return InvalidArgument("upstream max_concurrency must be at least 1");
  if (o.max_retries < 0) return InvalidArgument("upstream max_retries must not be negative");
  if (o.breaker_failures < 1) {
    return InvalidArgument("upstream breaker_failures must be at least 1");
  }
  if (o.retry_backoff.count() < 0 || o.max_retry_backoff < o.retry_backoff) {
    return InvalidArgument("upstream retry backoff must be >= 0 and at most max_retry_backoff");
  }
  RETURN_IF_ERROR(Positive(o.connect_timeout, "connect_timeout"));
  RETURN_IF_ERROR(Positive(o.first_byte_timeout, "first_byte_timeout"));
  RETURN_IF_ERROR(Positive(o.idle_timeout, "idle_timeout"));
  RETURN_IF_ERROR(Positive(o.total_timeout, "total_timeout"));
  RETURN_IF_ERROR(Positive(o.breaker_open_for, "breaker_open_for"));
  return Status::Ok();
}

class OpenAIUpstreamBackend::Impl {
 public:
  Impl(OpenAIUpstreamOptions o, metrics::Registry& registry)
      : options(std::move(o)),
        metrics(registry),
        breaker({options.breaker_failures, options.breaker_open_for}),
        rng(std::random_device{}()) {
    metrics.circuit_open.Set(0);
    thread = std::thread([this] {
      NameThisThread("upstream-io");
      ioc.run();
    });
    thread_id = thread.get_id();
  }

  asio::awaitable<void> Run(std::shared_ptr<UpstreamCall> call);
  void Settle(UpstreamHealth health);

  const OpenAIUpstreamOptions options;
  UpstreamMetrics metrics;
  CircuitBreaker breaker;
  asio::io_context ioc;  // declared before the client, whose pooled connections use it
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  http::HttpClient client{http::HttpClientOptions{.user_agent = "inferline-worker"}};
  std::mt19937_64 rng;  // io thread only

  mutable std::mutex mu;  // guards calls, shutdown and thread
  std::vector<std::shared_ptr<UpstreamCall>> calls;  // in flight
  bool shutdown = false;
  std::thread thread;
  std::thread::id thread_id;
};

void OpenAIUpstreamBackend::Impl::Settle(UpstreamHealth health) {
  CircuitBreaker::State before = breaker.state();
  switch (health) {
    case UpstreamHealth::kHealthy: breaker.OnSuccess(); break;
    case UpstreamHealth::kFailing: breaker.OnFailure(); break;
    case UpstreamHealth::kUnknown: breaker.OnAbandoned(); break;
  }
  CircuitBreaker::State after = breaker.state();
  metrics.circuit_open.Set(after == CircuitBreaker::State::kClosed ? 0 : 1);
  if (after == before) return;
  if (after == CircuitBreaker::State::kOpen) {
    log::Warn("upstream {}: circuit open after failures; requests wait in the queue for {} ms",
              options.base_url, options.breaker_open_for.count());
  } else {
    log::Info("upstream {}: circuit {}", options.base_url, CircuitBreaker::StateName(after));
  }
}

asio::awaitable<void> OpenAIUpstreamBackend::Impl::Run(std::shared_ptr<UpstreamCall> call) {
  CallOutcome out;
  try {
    out = co_await RunUpstreamCall(UpstreamEnv{options, client, metrics, rng}, *call);
  } catch (const std::exception& e) {
    out.result.finish_reason = "error";
    out.result.error = Internal(fmt::format("upstream backend: {}", e.what()));
    out.result.output_text = call->text;
  }
  Settle(out.health);
  metrics.request_duration_seconds.Observe(
      std::chrono::duration<double>(UpstreamCall::Clock::now() - call->submitted).count());
  {
    // The slot is free before on_done, so the Worker sees it when it looks for more work.
    std::lock_guard lock(mu);
    calls.erase(std::remove(calls.begin(), calls.end(), call), calls.end());
  }
  if (call->callbacks.on_done) call->callbacks.on_done(std::move(out.result));
}

Result<std::unique_ptr<OpenAIUpstreamBackend>> OpenAIUpstreamBackend::Create(
    OpenAIUpstreamOptions options, metrics::Registry& registry) {
  RETURN_IF_ERROR(Validate(options));
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  log::Debug("upstream backend: {} (model {}), at most {} requests at a time", options.base_url,
             options.model.empty() ? "as requested" : options.model, options.max_concurrency);
  return std::unique_ptr<OpenAIUpstreamBackend>(
      new OpenAIUpstreamBackend(std::make_unique<Impl>(std::move(options), registry)));
}

OpenAIUpstreamBackend::OpenAIUpstreamBackend(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

OpenAIUpstreamBackend::~OpenAIUpstreamBackend() { Shutdown(); }

Result<std::unique_ptr<BackendHandle>> OpenAIUpstreamBackend::Submit(
    const protocol::RequestMessage& request, BackendCallbacks callbacks) {
  Impl& s = *impl_;
  auto call = std::make_shared<UpstreamCall>();
  call->request = request;
  call->callbacks = std::move(callbacks);
  call->upstream = BuildUpstreamRequest(request, s.options.model);
  call->submitted = UpstreamCall::Clock::now();
  call->deadline = CallDeadline(s.options, request);
  {
    std::lock_guard lock(s.mu);
    if (s.shutdown) return Unavailable("the upstream backend is shutting down");
    if (static_cast<int>(s.calls.size()) >= s.options.max_concurrency) {
      return Unavailable(fmt::format("all {} upstream slots are busy", s.options.max_concurrency));
    }
    // Checked last, so that a request refused for another reason never takes the probe.
    if (!s.breaker.Allow()) {
      return Unavailable(fmt::format("upstream circuit open: {} is failing; retry later",
                                     s.options.base_url));
    }
    s.calls.push_back(call);
  }
  if (s.breaker.state() == CircuitBreaker::State::kHalfOpen) {
    log::InfoFor(request.request_id, "upstream {}: circuit half-open, this request probes it",
                 s.options.base_url);
  }
  asio::co_spawn(s.ioc, s.Run(call), [id = request.request_id](std::exception_ptr e) {
    if (e) log::ErrorFor(id, "upstream request coroutine ended with an exception");
  });
  return std::unique_ptr<BackendHandle>(std::make_unique<UpstreamHandle>(call));
}

int OpenAIUpstreamBackend::FreeSlots() const {
  const Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.shutdown || !s.breaker.WouldAllow()) return 0;
  int free = std::max(0, s.options.max_concurrency - static_cast<int>(s.calls.size()));
  // Half-open (or due to be): only the probe may go.
  return s.breaker.state() == CircuitBreaker::State::kClosed ? free : std::min(free, 1);
}

int OpenAIUpstreamBackend::ActiveSequences() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->calls.size());
}

CircuitBreaker::State OpenAIUpstreamBackend::circuit_state() const {
  return impl_->breaker.state();
}

void OpenAIUpstreamBackend::Shutdown() {
  Impl& s = *impl_;
  std::vector<std::shared_ptr<UpstreamCall>> running;
  std::thread io_thread;
  {
    std::lock_guard lock(s.mu);
    s.shutdown = true;
    running = s.calls;
    if (std::this_thread::get_id() != s.thread_id) io_thread = std::move(s.thread);
  }
  for (auto& call : running) call->abort.Abort();
  if (io_thread.joinable()) {
    s.work.reset();  // run() returns once every call has reported
    io_thread.join();
  }
}

}  // namespace inferline::worker
