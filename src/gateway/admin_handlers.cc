// Admin scope: API keys, users (plan and limit overrides), plans, usage reports, and the queue
// figures KEDA's metrics-api scaler reads (GET /v1/admin/scaling).
#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>

#include "common/log.h"
#include "gateway/api_keys.h"
#include "gateway/gateway.h"
#include "protocol/json_fields.h"

namespace inferline::gateway {
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
namespace json = boost::json;

json::array WindowsJson(const std::vector<quota::WindowUsage>& usage);  // info_handlers.cc

namespace {

json::value TimeOrNull(const std::optional<store::Time>& t) {
  if (!t) return nullptr;
  return json::string(Rfc3339(*t));
}

json::object KeyDocument(const store::ApiKey& k) {
  return json::object{{"id", k.id},
                      {"object", "api_key"},
                      {"user_id", k.user_id},
                      {"name", k.name},
                      {"prefix", k.prefix},
                      {"is_admin", k.is_admin},
                      {"created", UnixSeconds(k.created_at)},
                      {"revoked_at", TimeOrNull(k.revoked_at)},
                      {"last_used_at", TimeOrNull(k.last_used_at)}};
}

Result<json::object> BodyObject(std::string_view body) {
  if (body.empty()) return json::object{};
  return protocol::ParseObject(body);
}

// "1714560000" (unix seconds), "2024-05-01" or "2024-05-01T12:00:00Z".
Result<store::Time> ParseTime(std::string_view s, std::string_view param) {
  auto bad = [&] {
    return InvalidArgument(
        fmt::format("'{}' must be unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", param),
        std::string(param));
  };
  if (s.empty()) return bad();
  if (s.find('-') == std::string_view::npos) {
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (ec != std::errc() || p != s.data() + s.size() || secs < 0) return bad();
    return store::Time(std::chrono::seconds(secs));
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  char tail = 0;
  int n = std::sscanf(std::string(s).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi,
                      &se, &tail);
  bool date_only = n == 3 && s.size() == 10;
  bool full = n == 7 && tail == 'Z';
  if (!date_only && !full) return bad();
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return bad();
  return store::Time(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                     std::chrono::minutes(mi) + std::chrono::seconds(se));
}

}  // namespace

Gateway::Task Gateway::AdminCreateKey(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  Result<json::object> body = BodyObject(ctx.body());
  if (!body.ok()) co_return Reject(ctx, body.status());
  protocol::Fields f(*body);
  IssueKeyRequest req;
  req.default_plan = options_.default_plan;
  Status st = [&]() -> Status {
    for (const auto& kv : *body) {
      std::string_view k = kv.key();
      if (k != "user" && k != "user_id" && k != "plan" && k != "admin" && k != "name") {
        return InvalidArgument(fmt::format("unknown field '{}'", k), std::string(k));
      }
    }
    ASSIGN_OR_RETURN(auto user, f.String(body->contains("user_id") ? "user_id" : "user"));
    if (!user) return InvalidArgument("'user' is required", "user");
    req.user_id = *user;
    ASSIGN_OR_RETURN(auto plan, f.String("plan"));
    req.plan = plan.value_or("");
    ASSIGN_OR_RETURN(auto admin, f.Bool("admin"));
    req.is_admin = admin.value_or(false);
    ASSIGN_OR_RETURN(auto name, f.String("name"));
    req.name = name.value_or("");
    return Status::Ok();
  }();
  if (!st.ok()) co_return Reject(ctx, st);
  Result<IssuedKey> issued = co_await RunBlocking(pool_, [&] {
    return IssueKey(*deps_.store, req, [&](std::string_view n) { return deps_.plans->Has(n); },
                    store::Clock::now());
  });
  if (!issued.ok()) co_return Reject(ctx, issued.status());
  log::InfoFor(ctx.request_id(), "admin {} created key {} for user {}", p->user_id, issued->key.id,
               issued->key.user_id);
  json::object doc = KeyDocument(issued->key);
  doc["key"] = issued->secret;
  doc["user_created"] = issued->user_created;
  ctx.Json(beast_http::status::created, doc);
}

Gateway::Task Gateway::AdminListKeys(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  std::string user = ctx.query("user").value_or("");
  Result<std::vector<store::ApiKey>> keys =
      co_await RunBlocking(pool_, [&] { return deps_.store->ListApiKeys(user); });
  if (!keys.ok()) co_return Reject(ctx, keys.status());
  json::array data;
  for (const auto& k : *keys) data.push_back(KeyDocument(k));
  ctx.Json(beast_http::status::ok, json::object{{"object", "list"}, {"data", std::move(data)}});
}

Gateway::Task Gateway::AdminRevokeKey(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  std::string id(ctx.param("id"));
  Result<bool> revoked = co_await RunBlocking(pool_, [&]() -> Result<bool> {
    RETURN_IF_ERROR(deps_.store->GetApiKey(id).status());
    return deps_.store->RevokeApiKey(id, store::Clock::now());
  });
  if (!revoked.ok()) {
    if (revoked.status().code() == StatusCode::kNotFound) {
      co_return Reject(ctx, Status(StatusCode::kNotFound,
                                   fmt::format("No API key with id '{}'.", id), "id"));
    }
    co_return Reject(ctx, revoked.status());
  }
  auth_.InvalidateKey(id);
  log::InfoFor(ctx.request_id(), "admin {} revoked key {}", p->user_id, id);
  ctx.Json(beast_http::status::ok, json::object{{"id", id},
                                                {"object", "api_key"},
                                                {"revoked", true},
                                                {"already_revoked", !*revoked}});
}

Gateway::Task Gateway::AdminListPlans(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  json::array data;
  for (const auto& [name, limits] : deps_.plans->plans()) {
    data.push_back(json::object{{"name", name}, {"object", "plan"}, {"limits", LimitsToJson(limits)}});
  }
  ctx.Json(beast_http::status::ok, json::object{{"object", "list"}, {"data", std::move(data)}});
}

Gateway::Task Gateway::AdminUsage(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  store::UsageQuery q;
  q.user_id = ctx.query("user").value_or("");
  const store::Time now = store::Clock::now();
  q.from = quota::DayStart(quota::UtcDay(now));
  q.to = now + std::chrono::seconds(1);
  if (auto from = ctx.query("from")) {
    Result<store::Time> t = ParseTime(*from, "from");
    if (!t.ok()) co_return Reject(ctx, t.status());
    q.from = *t;
  }
  if (auto to = ctx.query("to")) {
    Result<store::Time> t = ParseTime(*to, "to");
    if (!t.ok()) co_return Reject(ctx, t.status());
    q.to = *t;
  }
  if (q.to < q.from) co_return Reject(ctx, InvalidArgument("'to' is before 'from'", "to"));
  Result<std::vector<store::UsageAggregate>> rows =
      co_await RunBlocking(pool_, [&] { return deps_.store->AggregateUsage(q); });
  if (!rows.ok()) co_return Reject(ctx, rows.status());
  json::array data;
  int64_t requests = 0, prompt = 0, completion = 0;
  for (const auto& r : *rows) {
    data.push_back(json::object{{"user_id", r.user_id},
                                {"model", r.model},
                                {"requests", r.requests},
                                {"prompt_tokens", r.prompt_tokens},
                                {"completion_tokens", r.completion_tokens},
                                {"total_tokens", r.prompt_tokens + r.completion_tokens}});
    requests += r.requests;
    prompt += r.prompt_tokens;
    completion += r.completion_tokens;
  }
  ctx.Json(beast_http::status::ok,
           json::object{{"object", "usage"},
                        {"from", Rfc3339(q.from)},
                        {"to", Rfc3339(q.to)},
                        {"data", std::move(data)},
                        {"totals", json::object{{"requests", requests},
                                                {"prompt_tokens", prompt},
                                                {"completion_tokens", completion},
                                                {"total_tokens", prompt + completion}}}});
}

Gateway::Task Gateway::AdminScaling(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  struct Row {
    std::string model;
    std::string queue;
    Result<queue::QueueStats> stats;
  };
  std::vector<Row> rows = co_await RunBlocking(pool_, [&] {
    std::vector<Row> out;
    for (const auto& m : deps_.models->models()) {
      std::string q = queue::RequestQueueName(m.name);
      out.push_back(Row{m.name, q, QueueStatsFor(m.name)});
    }
    return out;
  });
  json::array models;
  int64_t depth = 0, backlog = 0;
  for (const auto& r : rows) {
    if (!r.stats.ok()) co_return Reject(ctx, r.stats.status());
    depth += r.stats->ready;
    backlog += r.stats->backlog_tokens;
    models.push_back(json::object{{"model", r.model},
                                  {"queue", r.queue},
                                  {"queue_depth", r.stats->ready},
                                  {"running", r.stats->leased},
                                  {"dead_letters", r.stats->dead},
                                  {"backlog_tokens", r.stats->backlog_tokens}});
  }
  ctx.Json(beast_http::status::ok, json::object{{"queue_depth", depth},
                                                {"backlog_tokens", backlog},
                                                {"models", std::move(models)}});
}

}  // namespace inferline::gateway
