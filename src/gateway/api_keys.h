// API keys: generating, hashing and issuing them, and the identifiers the gateway mints.
//
// A key is "sk-il-" followed by 40 base62 characters (238 bits from OpenSSL's RAND_bytes). Only
// its sha256 (hex) reaches the store, with a short display prefix ("sk-il-AbCd...") so that a
// listing can show which key is which without revealing any of them. IssueKey creates the user
// when needed and returns the secret exactly once.
//
// Thread-safety: pure functions, except IssueKey, which blocks on the store (never call it on
// an HTTP I/O thread).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/store.h"

namespace inferline::gateway {

inline constexpr std::string_view kKeyPrefix = "sk-il-";

// `n` characters of [A-Za-z0-9] from a cryptographic generator.
std::string RandomBase62(size_t n);

std::string NewApiKeySecret();       // "sk-il-<40 base62>"
std::string NewKeyId();              // "key_<16 base62>"
std::string NewGenerationRequestId();  // "req_<8 base62 of time><16 random base62>": sorts by time

// Lower-case hex sha256 of `secret`.
std::string HashSecret(std::string_view secret);
// What listings show of a secret: its first 10 characters and an ellipsis.
std::string DisplayPrefix(std::string_view secret);
// A key as shown in an error message ("sk-il-Ab****wxyz"), never the whole secret.
std::string MaskSecret(std::string_view secret);

// User ids: 1..64 characters of [A-Za-z0-9._@-].
Status ValidateUserId(std::string_view id, std::string_view param = "user");

struct IssueKeyRequest {
  std::string user_id;
  std::string plan;  // for a user created by this call; empty: `default_plan`
  std::string default_plan = "default";
  bool is_admin = false;
  std::string name;
};

struct IssuedKey {
  store::ApiKey key;
  std::string secret;  // shown once, never stored
  bool user_created = false;
};

// Creates the user if it does not exist (with request.plan), then a new key for it. A plan
// given for an existing user with another plan is an error (change plans via the users API).
// `plan_exists` tells whether a plan name is known.
[[nodiscard]] Result<IssuedKey> IssueKey(store::Store& store, const IssueKeyRequest& request,
                                         const std::function<bool(std::string_view)>& plan_exists,
                                         store::Time now);

}  // namespace inferline::gateway
