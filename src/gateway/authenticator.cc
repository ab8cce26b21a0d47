#include "gateway/authenticator.h"

#include <fmt/format.h>

#include "common/log.h"

namespace inferline::gateway {

std::string_view ExtractApiKey(std::string_view authorization, std::string_view x_api_key) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  authorization = trim(authorization);
  if (authorization.size() > 7) {
    std::string_view scheme = authorization.substr(0, 7);
    bool bearer = true;
    for (size_t i = 0; i < 6; ++i) {
      bearer = bearer && std::tolower(static_cast<unsigned char>(scheme[i])) == "bearer"[i];
    }
    if (bearer && scheme[6] == ' ') return trim(authorization.substr(7));
  }
  return trim(x_api_key);
}

Authenticator::Authenticator(store::Store& store, const PlanCatalog& plans,
                             AuthenticatorOptions options)
    : store_(store), plans_(plans), options_(options) {}

std::optional<Result<Principal>> Authenticator::Cached(std::string_view secret_hash) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(std::string(secret_hash));
  if (it == cache_.end() || it->second.expires <= SteadyClock::now()) return std::nullopt;
  if (it->second.principal) return Result<Principal>(*it->second.principal);
  return Result<Principal>(Unauthenticated(it->second.refusal));
}

Result<Principal> Authenticator::Resolve(std::string_view secret_hash, std::string* refusal) {
  Result<store::ApiKey> key = store_.FindApiKeyByHash(secret_hash);
  if (!key.ok()) {
    if (key.status().code() != StatusCode::kNotFound) return key.status();
    *refusal = "Incorrect API key provided.";
    return Unauthenticated(*refusal);
  }
  if (key->revoked_at) {
    *refusal = fmt::format("The API key {} has been revoked.", key->prefix);
    return Unauthenticated(*refusal);
  }
  Result<store::User> user = store_.GetUser(key->user_id);
  if (!user.ok()) {
    if (user.status().code() != StatusCode::kNotFound) return user.status();
    *refusal = "The API key's user no longer exists.";
    return Unauthenticated(*refusal);
  }
  Principal p;
  p.key_id = key->id;
  p.user_id = key->user_id;
  p.is_admin = key->is_admin;
  p.plan = user->plan;
  const quota::Limits* plan = plans_.Find(user->plan);
  if (plan == nullptr) {
    log::Warn("user {} has unknown plan '{}'; applying plan 'default'", user->id, user->plan);
    plan = plans_.Find("default");
  }
  Result<LimitOverrides> overrides = ParseOverridesJson(user->limits_json);
  if (!overrides.ok()) {
    log::Warn("user {} has unreadable limit overrides ({}); ignoring them", user->id,
              overrides.status().message());
    overrides = LimitOverrides{};
  }
  p.limits = ApplyOverrides(plan ? *plan : quota::Limits{}, *overrides);
  // Last use is informational: recorded once per cache period, without waiting.
  (void)store_.TouchApiKey(key->id, store::Clock::now());
  return p;
}

Result<Principal> Authenticator::Lookup(std::string_view secret_hash) {
  std::string refusal;
  Result<Principal> r = Resolve(secret_hash, &refusal);
  if (!r.ok() && r.status().code() != StatusCode::kUnauthenticated) return r;
  Entry e;
  if (r.ok()) e.principal = *r;
  e.refusal = refusal;
  e.expires = SteadyClock::now() + options_.cache_ttl;
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.max_cache_entries) cache_.clear();
  cache_[std::string(secret_hash)] = std::move(e);
  return r;
}

void Authenticator::InvalidateKey(std::string_view key_id) {
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& kv) {
    return kv.second.principal && kv.second.principal->key_id == key_id;
  });
}

void Authenticator::InvalidateUser(std::string_view user_id) {
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& kv) {
    return kv.second.principal && kv.second.principal->user_id == user_id;
  });
}

}  // namespace inferline::gateway
