// Authenticator: turns an API key into a Principal (key, user, admin scope, effective limits).
//
// Keys are looked up by their sha256 in the store; answers, including refusals, are cached for
// cache_ttl (default 1 s), so a request costs one hash and one map lookup, a revocation made by
// another process (`inferline keys revoke`) takes effect within cache_ttl, and one made through
// this process (the admin API) at once via InvalidateKey / InvalidateUser. A user's plan and
// limit overrides travel with the principal, so a change to them also applies within cache_ttl.
//
// The header forms accepted are `Authorization: Bearer <key>` and `x-api-key: <key>`.
//
// Thread-safety: every method may be called from any thread; mu_ guards cache_. Cached() never
// blocks (an I/O thread may call it); Lookup() blocks on the store (blocking pool only).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "gateway/plans.h"
#include "quota/limits.h"
#include "store/store.h"

namespace inferline::gateway {

struct Principal {
  std::string key_id;
  std::string user_id;
  bool is_admin = false;
  std::string plan;
  quota::Limits limits;  // the plan's limits with the user's overrides applied
};

struct AuthenticatorOptions {
  std::chrono::milliseconds cache_ttl{1000};
  size_t max_cache_entries = 100'000;
};

// The key a request carries ("" when none): the Bearer token, else x-api-key.
std::string_view ExtractApiKey(std::string_view authorization, std::string_view x_api_key);

class Authenticator {
 public:
  using SteadyClock = std::chrono::steady_clock;

  Authenticator(store::Store& store, const PlanCatalog& plans, AuthenticatorOptions options = {});

  // The cached answer for a secret's hash, or nullopt when the store must be asked.
  std::optional<Result<Principal>> Cached(std::string_view secret_hash);

  // Asks the store (blocking) and caches the answer. Unauthenticated for an unknown or revoked
  // key; other codes when the store fails (not cached).
  Result<Principal> Lookup(std::string_view secret_hash);

  void InvalidateKey(std::string_view key_id);
  void InvalidateUser(std::string_view user_id);

 private:
  struct Entry {
    std::optional<Principal> principal;  // nullopt: refused
    std::string refusal;
    SteadyClock::time_point expires;
  };
  Result<Principal> Resolve(std::string_view secret_hash, std::string* refusal);

  store::Store& store_;
  const PlanCatalog& plans_;
  AuthenticatorOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // by secret hash; guarded by mu_
};

}  // namespace inferline::gateway
