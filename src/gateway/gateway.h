// Gateway: the HTTP API of the platform (ARCHITECTURE.md §5) on top of the seams.
//
//   OpenAI-compatible   POST /v1/completions, POST /v1/chat/completions (sync, `stream: true`
//                       SSE chunks, or `Prefer: respond-async` for a 202 ticket),
//                       GET /v1/models, GET /v1/models/{id}
//   asynchronous        POST /v1/requests (202), POST /api/gateway (the original system's
//                       shape), GET / DELETE /v1/requests/{id}, GET /v1/requests/{id}/events
//                       and /events/{id} (SSE with Last-Event-ID replay), GET /v1/quota
//   admin scope         /v1/admin/keys, /v1/admin/users, /v1/admin/plans, /v1/admin/usage,
//                       /v1/admin/scaling (queue depth and token backlog for KEDA)
//
// Every handler runs as a coroutine on an HTTP I/O thread and never blocks it: store, ledger,
// broker and bus calls go through the blocking pool (RunBlocking). Sync and streaming requests
// subscribe to their events at admission and wait on an EventInbox; a client that disconnects
// cancels its request (a queued request is refunded at once, a running one is settled by its
// worker and the collector).
//
// Metrics (all declared here):
//   inferline_admissions_total{result}   accepted | unmetered | invalid | unauthenticated |
//                                         rate_limited | quota_exceeded | queue_full |
//                                         model_not_found | error
//   inferline_queue_depth{model}          ready messages per model queue   } refreshed
//   inferline_backlog_tokens{model}       tokens of queued + running work  } every
//   inferline_queue_dead_letters{model}   messages in the dead-letter queue} scaling_refresh
// (inferline_sse_connections is kept by the HTTP layer's SseWriter.)
//
// Thread-safety: build and AddRoutes on one thread; handlers run concurrently on I/O threads.
// Stop() after the HTTP server has stopped, before the seams are destroyed.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <unordered_map>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "events/event_bus.h"
#include "gateway/admission.h"
#include "gateway/authenticator.h"
#include "gateway/blocking_pool.h"
#include "gateway/event_data.h"
#include "gateway/model_catalog.h"
#include "gateway/plans.h"
#include "gateway/rate_limiter.h"
#include "gateway/request_parser.h"
#include "http/request_context.h"
#include "http/router.h"
#include "queue/broker.h"
#include "quota/quota_ledger.h"
#include "store/store.h"

namespace inferline::gateway {

class EventInbox;

struct GatewayOptions {
  AdmissionOptions admission;
  ParseLimits parse_limits;
  AuthenticatorOptions auth;
  std::string default_plan = "default";  // for users created through the admin API
  int blocking_threads = 16;
  // Traffic without a valid key, per client IP (0 disables).
  double unauthenticated_rate = 5;   // per second
  double unauthenticated_burst = 60;
  // Requests per API key (0 disables); quotas proper are the plans'.
  double key_rate = 0;
  double key_burst = 0;
  std::vector<std::string> cors_origins;  // exact origins; "*" allows any
  std::chrono::milliseconds sse_keepalive{15'000};
  std::chrono::milliseconds sse_idle_timeout{300'000};
  // How long after its deadline a sync request is answered 504 if no result arrived.
  std::chrono::milliseconds sync_grace{30'000};
  std::chrono::milliseconds scaling_refresh{2'000};
  // Back-pressure: a model whose queue held this many ready requests at the last refresh gets
  // 503 + Retry-After (0: no limit). The distributed deployment sets it to RabbitMQ's
  // x-max-length, so that clients hear "full" before the broker would refuse the publish.
  int64_t max_queue_depth = 0;
  // Token backlog from Store::OpenReservedTokens instead of the broker (RabbitMQ cannot sum it).
  bool backlog_from_store = false;
};

struct GatewayDeps {
  store::Store* store = nullptr;
  quota::QuotaLedger* ledger = nullptr;
  queue::Broker* broker = nullptr;
  events::EventBus* bus = nullptr;
  const ModelCatalog* models = nullptr;
  const PlanCatalog* plans = nullptr;
  metrics::Registry* registry = nullptr;  // null: the default registry
  // Called (on a blocking-pool thread) when a running request is cancelled, so that its worker
  // can stop generating; optional.
  std::function<void(const std::string& request_id)> cancel_running;
  // Embedded, optional: a worker in this process that can start a request while its record is
  // being written (worker::Worker::TryStartInProcess and InProcessSubmitted). Used by the
  // admission that runs on the I/O thread.
  std::function<std::shared_ptr<store::DirectLease>(const protocol::RequestMessage&)>
      start_in_process;
  std::function<void(std::string_view request_id)> in_process_submitted;
};

class Gateway {
 public:
  Gateway(GatewayDeps deps, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void AddRoutes(http::Router& router);

  // Stops the scaling monitor and drains the blocking pool. Idempotent.
  void Stop();

  Authenticator& authenticator() { return auth_; }
  BlockingPool& pool() { return pool_; }

 private:
  using Ctx = http::RequestContext;
  using Task = boost::asio::awaitable<void>;

  // Wraps a handler with CORS headers.
  http::Handler Route(std::function<Task(Gateway&, Ctx&)> handler);
  bool ApplyCors(Ctx& ctx) const;
  Task Preflight(Ctx& ctx, std::string_view allow);

  // Authentication (writes the error response and returns nullopt on failure).
  boost::asio::awaitable<std::optional<Principal>> Authenticate(Ctx& ctx);
  bool RequireAdmin(Ctx& ctx, const Principal& p);
  // `?limit=` (1..1000, else `default_limit`) and `?cursor=` (a previous answer's next_cursor)
  // of a list endpoint; nullopt after answering 400 for a bad limit.
  std::optional<store::PageRequest> PageQuery(Ctx& ctx, int default_limit);
  void Reject(Ctx& ctx, const Status& st, std::string_view type = {}, std::string_view code = {});
  void WriteAdmitFailure(Ctx& ctx, const AdmitFailure& f);
  void SetRateLimitHeaders(Ctx& ctx, const std::vector<quota::WindowUsage>& usage);
  void Count(std::string_view result);

  // Generation endpoints (completions_handler.cc, requests_handler.cc).
  Task HandleCompletions(Ctx& ctx, BodyShape shape);
  Task HandleAsync(Ctx& ctx);
  // Admits and answers 202 with the request's ticket (/v1/requests, Prefer: respond-async).
  Task AdmitAsync(Ctx& ctx, const Principal& p, const GenerationRequest& req);
  // Admission::Admit, on this I/O thread awaiting the store's commit when admission never
  // blocks (embedded) and the body is small enough to tokenize here, else on the blocking pool.
  boost::asio::awaitable<AdmitOutcome> Admit(Ctx& ctx, const Principal& p,
                                             const GenerationRequest& req,
                                             events::EventCallback on_event = {});
  Task HandleSeed(Ctx& ctx);
  Task WaitAndAnswer(Ctx& ctx, const Admitted& a, const GenerationRequest& req,
                     std::shared_ptr<EventInbox> inbox);
  Task StreamAnswer(Ctx& ctx, const Admitted& a, const GenerationRequest& req,
                    std::shared_ptr<EventInbox> inbox);
  boost::asio::awaitable<std::optional<FinalResult>> ResultOf(const std::string& id,
                                                                     const events::Event& ev);
  boost::asio::awaitable<void> CancelForDisconnect(const std::string& request_id);

  // Request status, cancel and events (requests_handler.cc, events_handler.cc).
  Task GetRequest(Ctx& ctx);
  // The caller's requests, newest first, a page at a time (an admin may name `?user=`).
  Task ListRequests(Ctx& ctx);
  Task DeleteRequest(Ctx& ctx);
  Task StreamEvents(Ctx& ctx);
  // Blocking: cancels a request and refunds / notifies as its previous state requires.
  Result<store::CancelResult> Cancel(const std::string& request_id);
  // Looks up a request the principal may see (404 otherwise; writes the error).
  boost::asio::awaitable<std::optional<store::RequestRecord>> OwnedRequest(Ctx& ctx,
                                                                            const Principal& p);

  // Models and quota (info_handlers.cc).
  Task ListModels(Ctx& ctx);
  Task GetModel(Ctx& ctx);
  Task GetQuota(Ctx& ctx);

  // Token counting (tokenize_handlers.cc).
  boost::asio::awaitable<std::optional<Principal>> AuthenticateTokenizer(Ctx& ctx);
  Task Tokenize(Ctx& ctx);
  Task Detokenize(Ctx& ctx);

  // Admin (admin_handlers.cc).
  Task AdminCreateKey(Ctx& ctx);
  Task AdminListKeys(Ctx& ctx);
  Task AdminRevokeKey(Ctx& ctx);
  Task AdminListUsers(Ctx& ctx);
  Task AdminGetUser(Ctx& ctx);
  Task AdminCreateUser(Ctx& ctx);
  Task AdminUpdateUser(Ctx& ctx);
  Task AdminListPlans(Ctx& ctx);
  Task AdminUsage(Ctx& ctx);
  Task AdminScaling(Ctx& ctx);

  void MonitorLoop();
  void RefreshScalingMetrics();
  // The model's queue counts (broker; backlog from the store when configured); remembers the
  // depth for back-pressure. Blocks.
  Result<queue::QueueStats> QueueStatsFor(const std::string& model);

  GatewayDeps deps_;
  GatewayOptions options_;
  metrics::Registry& registry_;
  BlockingPool pool_;
  Authenticator auth_;
  Admission admission_;
  SlidingMinuteCounter tokenize_minute_;
  RateLimiter ip_limiter_;
  RateLimiter key_limiter_;

  metrics::CounterFamily& admissions_total_;
  metrics::GaugeFamily& queue_depth_;
  metrics::GaugeFamily& backlog_tokens_;
  metrics::GaugeFamily& dead_letters_;

  // Ready requests per model at the last refresh (keys fixed at construction).
  std::unordered_map<std::string, std::atomic<int64_t>> last_depth_;
  // The store's token backlog is a scan of the open requests, which grows with the backlog
  // (55 ms at 42,000 queued requests): a sum is reused until 50 times its own duration has
  // passed (at most a minute), so the scans take at most 2% of one database session however
  // long the queue gets.
  struct BacklogSum {
    int64_t tokens = 0;
    std::chrono::steady_clock::time_point next;  // recompute from here on
  };
  std::mutex backlog_mu_;
  std::unordered_map<std::string, BacklogSum> backlog_sums_;
  std::mutex monitor_mu_;  // guards stopping_
  std::condition_variable monitor_cv_;
  bool stopping_ = false;
  std::thread monitor_;
  std::atomic<bool> stopped_{false};
};

}  // namespace inferline::gateway
