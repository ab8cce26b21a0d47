// PostgresStore: opening, users and API keys.
#include <fmt/format.h>

#include "common/metrics.h"
#include "store/postgres/postgres_migrations.h"
#include "store/postgres/postgres_store.h"

namespace inferline::store {
namespace {

#define KEY_COLUMNS \
  "id, user_id, name, secret_hash, prefix, is_admin, scopes, created_at, revoked_at, last_used_at"

const PgStatement kInsertUser{
    "users_insert", "INSERT INTO users(id, plan, limits_json, created_at) VALUES ($1, $2, $3, $4)"};
const PgStatement kGetUser{"users_get",
                           "SELECT id, plan, limits_json, created_at FROM users WHERE id = $1"};
const PgStatement kUpdateUser{"users_update",
                              "UPDATE users SET plan = $2, limits_json = $3 WHERE id = $1"};
const PgStatement kListUsers{
    "users_list",
    "SELECT id, plan, limits_json, created_at FROM users WHERE id > $1 ORDER BY id LIMIT $2"};
const PgStatement kInsertKey{
    "keys_insert",
    "INSERT INTO api_keys(" KEY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"};
const PgStatement kKeyById{"keys_by_id", "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = $1"};
const PgStatement kKeyByHash{"keys_by_hash",
                             "SELECT " KEY_COLUMNS " FROM api_keys WHERE secret_hash = $1"};
const PgStatement kKeysOfUser{
    "keys_of_user",
    "SELECT " KEY_COLUMNS " FROM api_keys WHERE user_id = $1 ORDER BY created_at, id"};
const PgStatement kKeysAll{"keys_all",
                           "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY created_at, id"};
// (keys found, keys revoked by this call); the row lock orders concurrent revocations.
const PgStatement kRevokeKey{
    "keys_revoke",
    "WITH prev AS (SELECT id, revoked_at FROM api_keys WHERE id = $1 FOR UPDATE), "
    "upd AS (UPDATE api_keys k SET revoked_at = $2 FROM prev "
    "        WHERE k.id = prev.id AND prev.revoked_at IS NULL RETURNING k.id) "
    "SELECT (SELECT count(*) FROM prev), (SELECT count(*) FROM upd)"};
const PgStatement kTouchKey{"keys_touch", "UPDATE api_keys SET last_used_at = $2 WHERE id = $1"};

#undef KEY_COLUMNS

ApiKey ReadKey(const PgResult& r, int row) {
  ApiKey k;
  k.id = r.String(row, 0);
  k.user_id = r.String(row, 1);
  k.name = r.String(row, 2);
  k.secret_hash = r.String(row, 3);
  k.prefix = r.String(row, 4);
  k.is_admin = r.Bool(row, 5);
  k.scopes = r.String(row, 6);
  k.created_at = FromMillis(r.Int(row, 7));
  if (auto v = r.OptInt(row, 8)) k.revoked_at = FromMillis(*v);
  if (auto v = r.OptInt(row, 9)) k.last_used_at = FromMillis(*v);
  return k;
}

User ReadUser(const PgResult& r, int row) {
  return User{r.String(row, 0), r.String(row, 1), r.String(row, 2), FromMillis(r.Int(row, 3))};
}

Status ValidateUser(const User& user) {
  if (user.id.empty()) return InvalidArgument("user id must not be empty", "id");
  if (user.plan.empty()) return InvalidArgument("user plan must not be empty", "plan");
  return Status::Ok();
}

std::optional<int64_t> OptMillis(const std::optional<Time>& t) {
  if (!t) return std::nullopt;
  return ToMillis(*t);
}

Result<ApiKey> OneKey(PgPool& pool, const PgStatement& st, std::string_view value,
                      std::string_view what) {
  return pool.With([&](PgConnection& c) -> Result<ApiKey> {
    ASSIGN_OR_RETURN(PgResult r, c.Run(st, MakePgParams(value)));
    if (r.rows() == 0) return NotFound(fmt::format("no API key with {}", what));
    return ReadKey(r, 0);
  });
}

}  // namespace

PostgresStore::PostgresStore(const PostgresOptions& options)
    : metrics_(options.metrics ? *options.metrics : metrics::Registry::Default()),
      pool_(options, &metrics_.pool_wait_seconds),
      writes_(options, metrics_) {}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.pool_size < 1 || options.pool_size > 1000) {
    return InvalidArgument("postgres pool size must be 1..1000", "postgres.pool_size");
  }
  if (options.writers < 1 || options.writers > 64) {
    return InvalidArgument("postgres writers must be 1..64", "postgres.writers");
  }
  {
    ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(options));
    ASSIGN_OR_RETURN(int version, PostgresSchemaVersion(*conn));
    int latest = LatestPostgresSchemaVersion();
    if (version != latest) {
      return FailedPrecondition(fmt::format(
          "PostgreSQL database {} has schema version {}, this binary needs {}{}", conn->server(),
          version, latest, version < latest ? ": run `inferline migrate`" : "; upgrade inferline"));
    }
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(options));
}

Status PostgresStore::CreateUser(const User& user) {
  RETURN_IF_ERROR(ValidateUser(user));
  Status st = pool_.With([&](PgConnection& c) -> Status {
    return c.Run(kInsertUser, MakePgParams(user.id, user.plan, user.limits_json,
                                           ToMillis(user.created_at)))
        .status();
  });
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("user '{}' already exists", user.id));
  }
  return st;
}

Result<User> PostgresStore::GetUser(std::string_view id) {
  return pool_.With([&](PgConnection& c) -> Result<User> {
    ASSIGN_OR_RETURN(PgResult r, c.Run(kGetUser, MakePgParams(id)));
    if (r.rows() == 0) return NotFound(fmt::format("no user '{}'", id));
    return ReadUser(r, 0);
  });
}

Status PostgresStore::UpdateUser(const User& user) {
  RETURN_IF_ERROR(ValidateUser(user));
  return pool_.With([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Run(kUpdateUser, MakePgParams(user.id, user.plan, user.limits_json)));
    if (r.affected() == 0) return NotFound(fmt::format("no user '{}'", user.id));
    return Status::Ok();
  });
}

Result<Page<User>> PostgresStore::ListUsers(const PageRequest& page) {
  if (page.limit < 1 || page.limit > 1000) return InvalidArgument("limit must be 1..1000", "limit");
  return pool_.With([&](PgConnection& c) -> Result<Page<User>> {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Run(kListUsers, MakePgParams(page.cursor, int64_t{page.limit} + 1)));
    Page<User> out;
    for (int i = 0; i < r.rows(); ++i) out.items.push_back(ReadUser(r, i));
    if (out.items.size() > static_cast<size_t>(page.limit)) {
      out.items.pop_back();
      out.next_cursor = out.items.back().id;
    }
    return out;
  });
}

Status PostgresStore::CreateApiKey(const ApiKey& key) {
  if (key.id.empty()) return InvalidArgument("API key id must not be empty", "id");
  if (key.user_id.empty()) return InvalidArgument("API key needs a user", "user_id");
  if (key.secret_hash.size() != 64) {
    return InvalidArgument("secret_hash must be a hex sha256 (64 characters)", "secret_hash");
  }
  Status st = pool_.With([&](PgConnection& c) -> Status {
    return c.Run(kInsertKey, MakePgParams(key.id, key.user_id, key.name, key.secret_hash,
                                          key.prefix, key.is_admin, key.scopes,
                                          ToMillis(key.created_at), OptMillis(key.revoked_at),
                                          OptMillis(key.last_used_at)))
        .status();
  });
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("API key '{}' or its secret already exists", key.id));
  }
  return st;
}

Result<ApiKey> PostgresStore::GetApiKey(std::string_view id) {
  return OneKey(pool_, kKeyById, id, fmt::format("id '{}'", id));
}

Result<ApiKey> PostgresStore::FindApiKeyByHash(std::string_view secret_hash) {
  return OneKey(pool_, kKeyByHash, secret_hash, "this secret");
}

Result<std::vector<ApiKey>> PostgresStore::ListApiKeys(std::string_view user_id) {
  return pool_.With([&](PgConnection& c) -> Result<std::vector<ApiKey>> {
    ASSIGN_OR_RETURN(PgResult r, user_id.empty() ? c.Run(kKeysAll, {})
                                                 : c.Run(kKeysOfUser, MakePgParams(user_id)));
    std::vector<ApiKey> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadKey(r, i));
    return out;
  });
}

Result<bool> PostgresStore::RevokeApiKey(std::string_view id, Time now) {
  return pool_.With([&](PgConnection& c) -> Result<bool> {
    ASSIGN_OR_RETURN(PgResult r, c.Run(kRevokeKey, MakePgParams(id, ToMillis(now))));
    if (r.Int(0, 0) == 0) return NotFound(fmt::format("no API key with id '{}'", id));
    return r.Int(0, 1) > 0;
  });
}

Status PostgresStore::TouchApiKey(std::string_view id, Time now) {
  writes_.WriteAsync(PgWrite{&kTouchKey, MakePgParams(id, ToMillis(now)), {}});
  return Status::Ok();
}

}  // namespace inferline::store
