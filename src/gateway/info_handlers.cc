// GET /v1/models, GET /v1/models/{id} (OpenAI's list and model shapes) and GET /v1/quota.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "gateway/gateway.h"

namespace inferline::gateway {
namespace beast_http = boost::beast::http;
namespace json = boost::json;

namespace {

json::object ModelDocument(const ServedModel& m) {
  return json::object{{"id", m.name},
                      {"object", "model"},
                      {"created", m.created},
                      {"owned_by", m.owned_by},
                      {"context_length", m.context_length}};
}

}  // namespace

json::array WindowsJson(const std::vector<quota::WindowUsage>& usage);

json::array WindowsJson(const std::vector<quota::WindowUsage>& usage) {
  json::array out;
  const auto now = quota::Clock::now();
  for (const auto& w : usage) {
    json::object o;
    o["window"] = LimitKey(w.window);
    o["limit"] = w.limit ? json::value(*w.limit) : json::value(nullptr);
    o["used"] = w.used;
    o["reserved"] = w.reserved;
    o["remaining"] = w.remaining ? json::value(*w.remaining) : json::value(nullptr);
    if (w.resets_at) {
      o["resets_at"] = Rfc3339(*w.resets_at);
      o["reset_in_seconds"] =
          std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(*w.resets_at - now)
                                   .count());
    } else {
      o["resets_at"] = nullptr;
      o["reset_in_seconds"] = nullptr;
    }
    out.push_back(std::move(o));
  }
  return out;
}

Gateway::Task Gateway::ListModels(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  json::array data;
  for (const auto& m : deps_.models->models()) data.push_back(ModelDocument(m));
  ctx.Json(beast_http::status::ok, json::object{{"object", "list"}, {"data", std::move(data)}});
}

Gateway::Task Gateway::GetModel(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  const ServedModel* m = deps_.models->Find(ctx.param("id"));
  if (m == nullptr) {
    Reject(ctx,
           Status(StatusCode::kNotFound,
                  fmt::format("The model `{}` does not exist or you do not have access to it.",
                              ctx.param("id")),
                  "model"),
           "invalid_request_error", "model_not_found");
    co_return;
  }
  ctx.Json(beast_http::status::ok, ModelDocument(*m));
}

Gateway::Task Gateway::GetQuota(Ctx& ctx) {
  std::optional<Principal> principal = co_await Authenticate(ctx);
  if (!principal) co_return;
  Result<std::vector<quota::WindowUsage>> usage = co_await RunBlocking(pool_, [&] {
    return deps_.ledger->Usage(principal->user_id, principal->limits, quota::Clock::now());
  });
  if (!usage.ok()) {
    log::ErrorFor(ctx.request_id(), "quota usage failed: {}", usage.status().ToString());
    Reject(ctx, Unavailable("quota information is temporarily unavailable"));
    co_return;
  }
  SetRateLimitHeaders(ctx, *usage);
  ctx.Json(beast_http::status::ok, json::object{{"object", "quota"},
                                                {"user_id", principal->user_id},
                                                {"plan", principal->plan},
                                                {"limits", LimitsToJson(principal->limits)},
                                                {"windows", WindowsJson(*usage)}});
}

}  // namespace inferline::gateway
