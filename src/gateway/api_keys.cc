#include "gateway/api_keys.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <pthread.h>

#include <array>
#include <chrono>
#include <cstdlib>

#include "common/log.h"

namespace inferline::gateway {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

}  // namespace

namespace {

// Random bytes from OpenSSL's CSPRNG, fetched 4 KiB at a time per thread: RAND_bytes checks for
// a fork (a getpid system call) on every call, once per request id otherwise. A fork empties
// the forking thread's pool (the child's only thread), so parent and child never share bytes.
struct RandomPool {
  std::array<unsigned char, 4096> bytes;
  size_t next = sizeof(bytes);  // empty
};
thread_local RandomPool tls_pool;

void ForgetPoolInChild() { tls_pool.next = sizeof(tls_pool.bytes); }

unsigned char RandomByte() {
  static const bool registered = [] { return pthread_atfork(nullptr, nullptr, ForgetPoolInChild) == 0; }();
  (void)registered;
  RandomPool& pool = tls_pool;
  if (pool.next == pool.bytes.size()) {
    if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1) {
      // Without a working CSPRNG no key or id can be trusted: stop rather than weaken them.
      log::Error("OpenSSL RAND_bytes failed; cannot generate secrets");
      std::abort();
    }
    pool.next = 0;
  }
  unsigned char b = pool.bytes[pool.next];
  pool.bytes[pool.next++] = 0;  // not kept in memory after use
  return b;
}

}  // namespace

std::string RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    // Rejection sampling keeps the distribution uniform: 248 = 4 * 62.
    unsigned char b = RandomByte();
    if (b < 248) out.push_back(kBase62[b % 62]);
  }
  return out;
}

std::string NewApiKeySecret() { return std::string(kKeyPrefix) + RandomBase62(40); }
std::string NewKeyId() { return "key_" + RandomBase62(16); }
std::string NewGenerationRequestId() {
  // 8 base62 digits of the wall clock in milliseconds (enough until the year 8900), most
  // significant first, then 16 random ones. kBase62 is in ASCII order, so ids sort by creation
  // time: every table keyed or indexed by request id then grows at its right edge, where the
  // embedded store's inserts share a few B-tree pages per commit instead of dirtying a random
  // page each.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string id = "req_";
  id.resize(4 + 8);
  uint64_t v = ms > 0 ? static_cast<uint64_t>(ms) : 0;
  for (int i = 11; i >= 4; --i) {
    id[i] = kBase62[v % 62];
    v /= 62;
  }
  id += RandomBase62(16);
  return id;
}

std::string HashSecret(std::string_view secret) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the implementation up (under a lock) on
  // every digest, which cost more than the digest of a key (0.36 against 0.15 us here).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int len = 0;
  if (sha256 == nullptr ||
      EVP_Digest(secret.data(), secret.size(), digest.data(), &len, sha256, nullptr) != 1) {
    log::Error("OpenSSL sha256 failed");
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

std::string DisplayPrefix(std::string_view secret) {
  return std::string(secret.substr(0, 10)) + "...";
}

std::string MaskSecret(std::string_view secret) {
  if (secret.size() <= 12) return "****";
  return fmt::format("{}****{}", secret.substr(0, 8), secret.substr(secret.size() - 4));
}

Status ValidateUserId(std::string_view id, std::string_view param) {
  if (id.empty() || id.size() > 64) {
    return InvalidArgument(fmt::format("'{}' must be 1 to 64 characters", param),
                           std::string(param));
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) {
      return InvalidArgument(
          fmt::format("'{}' may only contain letters, digits and . _ @ -", param),
          std::string(param));
    }
  }
  return Status::Ok();
}

Result<IssuedKey> IssueKey(store::Store& store, const IssueKeyRequest& request,
                           const std::function<bool(std::string_view)>& plan_exists,
                           store::Time now) {
  RETURN_IF_ERROR(ValidateUserId(request.user_id, "user"));
  if (request.name.size() > 128) return InvalidArgument("'name' is limited to 128 characters", "name");
  if (!request.plan.empty() && !plan_exists(request.plan)) {
    return InvalidArgument(fmt::format("unknown plan '{}'", request.plan), "plan");
  }
  IssuedKey out;
  Result<store::User> user = store.GetUser(request.user_id);
  if (!user.ok()) {
    if (user.status().code() != StatusCode::kNotFound) return user.status();
    store::User u;
    u.id = request.user_id;
    u.plan = request.plan.empty() ? request.default_plan : request.plan;
    u.created_at = now;
    Status st = store.CreateUser(u);
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return st;  // a racing create is fine
    out.user_created = st.ok();
  } else if (!request.plan.empty() && user->plan != request.plan) {
    return FailedPrecondition(fmt::format(
        "user '{}' already exists with plan '{}'; change its plan with PATCH /v1/admin/users/{}",
        request.user_id, user->plan, request.user_id));
  }
  out.secret = NewApiKeySecret();
  store::ApiKey& key = out.key;
  key.id = NewKeyId();
  key.user_id = request.user_id;
  key.name = request.name;
  key.secret_hash = HashSecret(out.secret);
  key.prefix = DisplayPrefix(out.secret);
  key.is_admin = request.is_admin;
  key.scopes = request.is_admin ? "admin" : "";
  key.created_at = now;
  RETURN_IF_ERROR(store.CreateApiKey(key));
  return out;
}

}  // namespace inferline::gateway
