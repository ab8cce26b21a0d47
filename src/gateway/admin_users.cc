// Admin scope: users, their plans and per-user limit overrides.
//
//   GET   /v1/admin/users?limit=&cursor=     list (by id)
//   GET   /v1/admin/users/{id}               the user, its effective limits and current usage
//   POST  /v1/admin/users {id, plan?, limits?}
//   PATCH /v1/admin/users/{id} {plan?, limits?, reset_limits?}
// `limits` holds overrides (a number, or null for unlimited; see plans.h); a PATCH merges them
// into the existing ones, after clearing them when reset_limits is true. Changes apply to the
// user's next request in this process, and within the key cache's TTL elsewhere.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "gateway/api_keys.h"
#include "gateway/gateway.h"
#include "protocol/json_fields.h"

namespace inferline::gateway {
namespace beast_http = boost::beast::http;
namespace json = boost::json;

json::array WindowsJson(const std::vector<quota::WindowUsage>& usage);  // info_handlers.cc

namespace {

struct UserChange {
  std::optional<std::string> id;
  std::optional<std::string> plan;
  std::optional<LimitOverrides> limits;
  bool reset_limits = false;
};

Result<UserChange> ParseUserChange(std::string_view body, bool create, const PlanCatalog& plans) {
  json::object o;
  if (!body.empty()) {
    ASSIGN_OR_RETURN(o, protocol::ParseObject(body));
  }
  UserChange c;
  protocol::Fields f(o);
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    bool known = k == "plan" || k == "limits" || (create && (k == "id" || k == "user")) ||
                 (!create && k == "reset_limits");
    if (!known) return InvalidArgument(fmt::format("unknown field '{}'", k), std::string(k));
  }
  if (create) {
    ASSIGN_OR_RETURN(auto id, f.String(o.contains("user") ? "user" : "id"));
    if (!id) return InvalidArgument("'id' is required", "id");
    RETURN_IF_ERROR(ValidateUserId(*id, "id"));
    c.id = *id;
  }
  ASSIGN_OR_RETURN(c.plan, f.String("plan"));
  if (c.plan && !plans.Has(*c.plan)) {
    return InvalidArgument(fmt::format("unknown plan '{}'", *c.plan), "plan");
  }
  if (const json::value* l = f.Get("limits")) {
    ASSIGN_OR_RETURN(c.limits, ParseOverrides(*l, "limits"));
  }
  ASSIGN_OR_RETURN(auto reset, f.Bool("reset_limits"));
  c.reset_limits = reset.value_or(false);
  return c;
}

json::object UserDocument(const store::User& u, const PlanCatalog& plans) {
  LimitOverrides overrides = OverridesOrEmpty(u.limits_json);
  const quota::Limits* plan = plans.Find(u.plan);
  json::object o{{"id", u.id},
                 {"object", "user"},
                 {"plan", u.plan},
                 {"limit_overrides", OverridesToObject(overrides)},
                 {"created", UnixSeconds(u.created_at)}};
  if (plan) {
    o["limits"] = LimitsToJson(ApplyOverrides(*plan, overrides));
  } else {
    o["limits"] = nullptr;
    o["warning"] = fmt::format("plan '{}' is not configured; plan 'default' applies", u.plan);
  }
  return o;
}

}  // namespace

Gateway::Task Gateway::AdminListUsers(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  std::optional<store::PageRequest> page = PageQuery(ctx, store::PageRequest{}.limit);
  if (!page) co_return;
  Result<store::Page<store::User>> users =
      co_await RunBlocking(pool_, [&] { return deps_.store->ListUsers(*page); });
  if (!users.ok()) co_return Reject(ctx, users.status());
  json::array data;
  for (const auto& u : users->items) data.push_back(UserDocument(u, *deps_.plans));
  json::value next = users->next_cursor.empty() ? json::value(nullptr)
                                                : json::value(users->next_cursor);
  ctx.Json(beast_http::status::ok,
           json::object{{"object", "list"}, {"data", std::move(data)}, {"next_cursor", next}});
}

Gateway::Task Gateway::AdminGetUser(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  std::string id(ctx.param("id"));
  Result<store::User> user = co_await RunBlocking(pool_, [&] { return deps_.store->GetUser(id); });
  if (!user.ok()) co_return Reject(ctx, user.status());
  json::object doc = UserDocument(*user, *deps_.plans);
  const quota::Limits* plan = deps_.plans->Find(user->plan);
  if (plan == nullptr) plan = deps_.plans->Find("default");
  quota::Limits limits = ApplyOverrides(
      plan ? *plan : quota::Limits{}, OverridesOrEmpty(user->limits_json));
  Result<std::vector<quota::WindowUsage>> usage = co_await RunBlocking(
      pool_, [&] { return deps_.ledger->Usage(id, limits, quota::Clock::now()); });
  if (usage.ok()) doc["windows"] = WindowsJson(*usage);
  ctx.Json(beast_http::status::ok, doc);
}

Gateway::Task Gateway::AdminCreateUser(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  Result<UserChange> change = ParseUserChange(ctx.body(), true, *deps_.plans);
  if (!change.ok()) co_return Reject(ctx, change.status());
  store::User u;
  u.id = *change->id;
  u.plan = change->plan.value_or(options_.default_plan);
  u.limits_json = OverridesToJson(change->limits.value_or(LimitOverrides{}));
  u.created_at = store::Clock::now();
  Status st = co_await RunBlocking(pool_, [&] { return deps_.store->CreateUser(u); });
  if (!st.ok()) co_return Reject(ctx, st);
  log::InfoFor(ctx.request_id(), "admin {} created user {} (plan {})", p->user_id, u.id, u.plan);
  ctx.Json(beast_http::status::created, UserDocument(u, *deps_.plans));
}

Gateway::Task Gateway::AdminUpdateUser(Ctx& ctx) {
  std::optional<Principal> p = co_await Authenticate(ctx);
  if (!p || !RequireAdmin(ctx, *p)) co_return;
  Result<UserChange> change = ParseUserChange(ctx.body(), false, *deps_.plans);
  if (!change.ok()) co_return Reject(ctx, change.status());
  std::string id(ctx.param("id"));
  // Read-modify-write; two admins patching the same user at once: the last write wins.
  Result<store::User> updated = co_await RunBlocking(pool_, [&]() -> Result<store::User> {
    ASSIGN_OR_RETURN(store::User u, deps_.store->GetUser(id));
    if (change->plan) u.plan = *change->plan;
    LimitOverrides current = change->reset_limits
                                 ? LimitOverrides{}
                                 : OverridesOrEmpty(u.limits_json);
    if (change->limits) current = MergeOverrides(current, *change->limits);
    u.limits_json = OverridesToJson(current);
    RETURN_IF_ERROR(deps_.store->UpdateUser(u));
    return u;
  });
  if (!updated.ok()) co_return Reject(ctx, updated.status());
  auth_.InvalidateUser(id);
  log::InfoFor(ctx.request_id(), "admin {} updated user {} (plan {}, overrides {})", p->user_id,
               id, updated->plan, updated->limits_json);
  ctx.Json(beast_http::status::ok, UserDocument(*updated, *deps_.plans));
}

}  // namespace inferline::gateway
