#include "gateway/gateway.h"

#include <boost/beast/http/verb.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "common/thread_name.h"
#include "gateway/api_keys.h"

namespace inferline::gateway {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using Verb = beast_http::verb;

Gateway::Gateway(GatewayDeps deps, GatewayOptions options)
    : deps_(std::move(deps)),
      options_(std::move(options)),
      registry_(deps_.registry ? *deps_.registry : metrics::Registry::Default()),
      pool_(options_.blocking_threads),
      auth_(*deps_.store, *deps_.plans, options_.auth),
      admission_(*deps_.store, *deps_.ledger, *deps_.bus, *deps_.models, options_.admission),
      ip_limiter_(options_.unauthenticated_rate, options_.unauthenticated_burst),
      key_limiter_(options_.key_rate, options_.key_burst),
      admissions_total_(registry_.AddCounter(
          "inferline_admissions_total",
          "Generation requests by admission result (accepted, unmetered, invalid, "
          "unauthenticated, rate_limited, quota_exceeded, queue_full, model_not_found, error)",
          {"result"})),
      queue_depth_(registry_.AddGauge("inferline_queue_depth",
                                      "Requests waiting in the model's queue", {"model"})),
      backlog_tokens_(registry_.AddGauge(
          "inferline_backlog_tokens", "Reserved tokens of queued and running requests",
          {"model"})),
      dead_letters_(registry_.AddGauge(
          "inferline_queue_dead_letters",
          "Messages in the model's dead-letter queue (poison or over the delivery limit)",
          {"model"})) {
  // Series exist from the start, so dashboards show zeros rather than gaps.
  for (const char* r : {"accepted", "unmetered", "invalid", "unauthenticated", "rate_limited",
                        "quota_exceeded", "queue_full", "model_not_found", "error"}) {
    admissions_total_.With({r});
  }
  for (const auto& m : deps_.models->models()) {
    queue_depth_.With({m.name});
    backlog_tokens_.With({m.name});
    dead_letters_.With({m.name});
    last_depth_.try_emplace(m.name, 0);
  }
  if (options_.max_queue_depth > 0) {
    admission_.SetQueueFullCheck([this](const std::string& model) {
      auto it = last_depth_.find(model);
      return it != last_depth_.end() &&
             it->second.load(std::memory_order_relaxed) >= options_.max_queue_depth;
    });
  }
  if (deps_.broker != nullptr && options_.scaling_refresh.count() > 0) {
    monitor_ = std::thread([this] {
      NameThisThread("gw-monitor");
      MonitorLoop();
    });
  }
}

Gateway::~Gateway() { Stop(); }

void Gateway::Stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(monitor_mu_);
    stopping_ = true;
  }
  monitor_cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  pool_.Stop();
}

void Gateway::MonitorLoop() {
  std::unique_lock lock(monitor_mu_);
  while (!stopping_) {
    lock.unlock();
    RefreshScalingMetrics();
    lock.lock();
    monitor_cv_.wait_for(lock, options_.scaling_refresh, [this] { return stopping_; });
  }
}

Result<queue::QueueStats> Gateway::QueueStatsFor(const std::string& model) {
  Result<queue::QueueStats> st = deps_.broker->Stats(queue::RequestQueueName(model));
  if (!st.ok()) return st;
  if (options_.backlog_from_store) {
    const auto now = std::chrono::steady_clock::now();
    bool cached = false;
    {
      std::lock_guard lock(backlog_mu_);
      auto it = backlog_sums_.find(model);
      if (it != backlog_sums_.end() && now < it->second.next) {
        st->backlog_tokens = it->second.tokens;
        cached = true;
      }
    }
    if (!cached) {
      Result<int64_t> tokens = deps_.store->OpenReservedTokens(model);
      if (!tokens.ok()) return tokens.status().Annotate("summing the token backlog");
      const auto took = std::chrono::steady_clock::now() - now;
      std::lock_guard lock(backlog_mu_);
      backlog_sums_[model] =
          BacklogSum{*tokens, now + std::min<std::chrono::steady_clock::duration>(
                                        50 * took, std::chrono::seconds(60))};
      st->backlog_tokens = *tokens;
    }
  }
  if (auto it = last_depth_.find(model); it != last_depth_.end()) {
    it->second.store(st->ready, std::memory_order_relaxed);
  }
  return st;
}

void Gateway::RefreshScalingMetrics() {
  for (const auto& m : deps_.models->models()) {
    Result<queue::QueueStats> st = QueueStatsFor(m.name);
    if (!st.ok()) {
      log::Warn("scaling metrics: queue stats for {} failed: {}", m.name, st.status().message());
      continue;
    }
    queue_depth_.With({m.name}).Set(static_cast<double>(st->ready));
    backlog_tokens_.With({m.name}).Set(static_cast<double>(st->backlog_tokens));
    dead_letters_.With({m.name}).Set(static_cast<double>(st->dead));
  }
}

void Gateway::Count(std::string_view result) { admissions_total_.With({result}).Inc(); }

// --- Routing and CORS.

http::Handler Gateway::Route(std::function<Task(Gateway&, Ctx&)> handler) {
  return [this, handler = std::move(handler)](Ctx& ctx) -> Task {
    ApplyCors(ctx);
    co_await handler(*this, ctx);
  };
}

bool Gateway::ApplyCors(Ctx& ctx) const {
  std::string_view origin = ctx.header("Origin");
  if (origin.empty() || options_.cors_origins.empty()) return false;
  bool any = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), "*") !=
             options_.cors_origins.end();
  bool listed = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) !=
                options_.cors_origins.end();
  if (!any && !listed) return false;
  ctx.SetHeader("Access-Control-Allow-Origin", origin);
  ctx.SetHeader("Vary", "Origin");
  ctx.SetHeader("Access-Control-Expose-Headers",
                "x-request-id, retry-after, x-ratelimit-limit-requests, "
                "x-ratelimit-limit-tokens, x-ratelimit-remaining-requests, "
                "x-ratelimit-remaining-tokens, x-ratelimit-reset-requests, "
                "x-ratelimit-reset-tokens, location");
  return true;
}

Gateway::Task Gateway::Preflight(Ctx& ctx, std::string_view allow) {
  if (ApplyCors(ctx)) {
    ctx.SetHeader("Access-Control-Allow-Methods", allow);
    ctx.SetHeader("Access-Control-Allow-Headers",
                  "Authorization, Content-Type, x-api-key, Last-Event-ID, Prefer, "
                  "x-request-id, OpenAI-Organization, OpenAI-Project, x-stainless-arch, "
                  "x-stainless-lang, x-stainless-os, x-stainless-package-version, "
                  "x-stainless-runtime, x-stainless-runtime-version, x-stainless-retry-count, "
                  "x-stainless-timeout");
    ctx.SetHeader("Access-Control-Max-Age", "600");
  }
  ctx.response().result(beast_http::status::no_content);
  co_return;
}

void Gateway::AddRoutes(http::Router& router) {
  router.SetOptionsHook([this](Ctx& ctx, std::string_view allow) { return Preflight(ctx, allow); });
  auto add = [&](Verb verb, std::string_view path, std::function<Task(Gateway&, Ctx&)> h) {
    router.Add(verb, path, Route(std::move(h)));
  };
  add(Verb::post, "/v1/completions",
      [](Gateway& g, Ctx& c) { return g.HandleCompletions(c, BodyShape::kCompletion); });
  add(Verb::post, "/v1/chat/completions",
      [](Gateway& g, Ctx& c) { return g.HandleCompletions(c, BodyShape::kChat); });
  add(Verb::post, "/v1/requests", [](Gateway& g, Ctx& c) { return g.HandleAsync(c); });
  add(Verb::post, "/api/gateway", [](Gateway& g, Ctx& c) { return g.HandleSeed(c); });
  add(Verb::get, "/v1/requests", [](Gateway& g, Ctx& c) { return g.ListRequests(c); });
  add(Verb::get, "/v1/requests/{id}", [](Gateway& g, Ctx& c) { return g.GetRequest(c); });
  add(Verb::delete_, "/v1/requests/{id}", [](Gateway& g, Ctx& c) { return g.DeleteRequest(c); });
  add(Verb::get, "/v1/requests/{id}/events", [](Gateway& g, Ctx& c) { return g.StreamEvents(c); });
  add(Verb::get, "/events/{id}", [](Gateway& g, Ctx& c) { return g.StreamEvents(c); });
  add(Verb::get, "/v1/models", [](Gateway& g, Ctx& c) { return g.ListModels(c); });
  add(Verb::get, "/v1/models/{id}", [](Gateway& g, Ctx& c) { return g.GetModel(c); });
  add(Verb::get, "/v1/quota", [](Gateway& g, Ctx& c) { return g.GetQuota(c); });
  for (std::string_view path : {"/tokenize", "/v1/tokenize"}) {
    add(Verb::post, path, [](Gateway& g, Ctx& c) { return g.Tokenize(c); });
  }
  for (std::string_view path : {"/detokenize", "/v1/detokenize"}) {
    add(Verb::post, path, [](Gateway& g, Ctx& c) { return g.Detokenize(c); });
  }
  add(Verb::post, "/v1/admin/keys", [](Gateway& g, Ctx& c) { return g.AdminCreateKey(c); });
  add(Verb::get, "/v1/admin/keys", [](Gateway& g, Ctx& c) { return g.AdminListKeys(c); });
  add(Verb::delete_, "/v1/admin/keys/{id}", [](Gateway& g, Ctx& c) { return g.AdminRevokeKey(c); });
  add(Verb::get, "/v1/admin/users", [](Gateway& g, Ctx& c) { return g.AdminListUsers(c); });
  add(Verb::post, "/v1/admin/users", [](Gateway& g, Ctx& c) { return g.AdminCreateUser(c); });
  add(Verb::get, "/v1/admin/users/{id}", [](Gateway& g, Ctx& c) { return g.AdminGetUser(c); });
  add(Verb::patch, "/v1/admin/users/{id}", [](Gateway& g, Ctx& c) { return g.AdminUpdateUser(c); });
  add(Verb::get, "/v1/admin/plans", [](Gateway& g, Ctx& c) { return g.AdminListPlans(c); });
  add(Verb::get, "/v1/admin/usage", [](Gateway& g, Ctx& c) { return g.AdminUsage(c); });
  add(Verb::get, "/v1/admin/scaling", [](Gateway& g, Ctx& c) { return g.AdminScaling(c); });
}

// --- Authentication and errors.

void Gateway::Reject(Ctx& ctx, const Status& st, std::string_view type, std::string_view code) {
  ctx.Error(st, type, code);
}

asio::awaitable<std::optional<Principal>> Gateway::Authenticate(Ctx& ctx) {
  std::string_view key = ExtractApiKey(ctx.header("Authorization"), ctx.header("x-api-key"));
  auto refuse = [&](const Status& st, std::string_view code) {
    std::chrono::seconds retry{1};
    if (!ip_limiter_.Allow(ctx.remote_ip(), RateLimiter::Clock::now(), &retry)) {
      ctx.SetHeader("Retry-After", std::to_string(retry.count()));
      Reject(ctx,
             ResourceExhausted("Too many requests without a valid API key from this address; "
                               "slow down."),
             "rate_limit_exceeded", "rate_limit_exceeded");
      Count("rate_limited");
      return;
    }
    ctx.SetHeader("WWW-Authenticate", "Bearer");
    Reject(ctx, st, "invalid_request_error", code);
    Count("unauthenticated");
  };
  if (key.empty()) {
    refuse(Unauthenticated("You didn't provide an API key. Provide your API key in an "
                           "Authorization header using Bearer auth (Authorization: Bearer "
                           "YOUR_KEY), or in an x-api-key header."),
           "missing_api_key");
    co_return std::nullopt;
  }
  std::string hash = HashSecret(key);
  // (No co_await inside a conditional expression: g++ 12 mis-destroys its temporaries.)
  std::optional<Result<Principal>> found = auth_.Cached(hash);
  if (!found) {
    Result<Principal> looked_up = co_await RunBlocking(pool_, [&] { return auth_.Lookup(hash); });
    found.emplace(std::move(looked_up));
  }
  Result<Principal>& p = *found;
  if (!p.ok()) {
    if (p.status().code() == StatusCode::kUnauthenticated) {
      std::string masked = key.size() > 200 ? "(over-long key)" : MaskSecret(key);
      refuse(Unauthenticated(fmt::format("{} Key: {}", p.status().message(), masked)),
             "invalid_api_key");
    } else {
      log::ErrorFor(ctx.request_id(), "authentication failed: {}", p.status().ToString());
      Reject(ctx, Unavailable("authentication is temporarily unavailable; please retry"));
      Count("error");
    }
    co_return std::nullopt;
  }
  std::chrono::seconds retry{1};
  if (!key_limiter_.Allow(p->key_id, RateLimiter::Clock::now(), &retry)) {
    ctx.SetHeader("Retry-After", std::to_string(retry.count()));
    Reject(ctx, ResourceExhausted("Rate limit reached for this API key; slow down."),
           "rate_limit_exceeded", "rate_limit_exceeded");
    Count("rate_limited");
    co_return std::nullopt;
  }
  co_return std::move(*p);
}

std::optional<store::PageRequest> Gateway::PageQuery(Ctx& ctx, int default_limit) {
  store::PageRequest page;
  page.limit = default_limit;
  page.cursor = ctx.query("cursor").value_or("");
  if (auto limit = ctx.query("limit")) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || ptr != limit->data() + limit->size() || n < 1 || n > 1000) {
      Reject(ctx, InvalidArgument("'limit' must be an integer from 1 to 1000", "limit"));
      return std::nullopt;
    }
    page.limit = n;
  }
  return page;
}

bool Gateway::RequireAdmin(Ctx& ctx, const Principal& p) {
  if (p.is_admin) return true;
  Reject(ctx, PermissionDenied("This endpoint requires an admin API key."), "permission_error",
         "admin_required");
  return false;
}

void Gateway::SetRateLimitHeaders(Ctx& ctx, const std::vector<quota::WindowUsage>& usage) {
  // OpenAI reports one requests window and one tokens window: report the tightest of each.
  const auto now = quota::Clock::now();
  for (bool tokens : {false, true}) {
    const quota::WindowUsage* tightest = nullptr;
    for (const auto& w : usage) {
      if (w.window == quota::Window::kConcurrentRequests) continue;
      if (quota::CountsTokens(w.window) != tokens || !w.limit || !w.remaining) continue;
      if (tightest == nullptr || *w.remaining < *tightest->remaining) tightest = &w;
    }
    if (tightest == nullptr) continue;
    ctx.SetHeader(tokens ? "x-ratelimit-limit-tokens" : "x-ratelimit-limit-requests",
                  std::to_string(*tightest->limit));
    ctx.SetHeader(tokens ? "x-ratelimit-remaining-tokens" : "x-ratelimit-remaining-requests",
                  std::to_string(*tightest->remaining));
    auto reset = tightest->resets_at
                     ? std::chrono::duration_cast<std::chrono::milliseconds>(*tightest->resets_at -
                                                                             now)
                     : std::chrono::milliseconds(0);
    ctx.SetHeader(tokens ? "x-ratelimit-reset-tokens" : "x-ratelimit-reset-requests",
                  FormatResetDuration(reset));
  }
}

void Gateway::WriteAdmitFailure(Ctx& ctx, const AdmitFailure& f) {
  Count(f.result);
  if (f.exceeded) {
    ctx.SetHeader("Retry-After", std::to_string(std::max<int64_t>(1, f.exceeded->retry_after.count())));
    SetRateLimitHeaders(ctx, f.usage);
  } else if (f.retry_after_seconds > 0) {
    ctx.SetHeader("Retry-After", std::to_string(f.retry_after_seconds));
  }
  if (f.status.code() == StatusCode::kInternal || f.status.code() == StatusCode::kUnavailable) {
    log::ErrorFor(ctx.request_id(), "admission failed: {}", f.status.ToString());
  }
  Reject(ctx, f.status, f.type, f.code);
}

}  // namespace inferline::gateway
