// SqliteStore: users and API keys.
#include <fmt/format.h>

#include "store/sqlite/sqlite_store.h"

namespace inferline::store {
namespace {

constexpr std::string_view kKeyColumns =
    "id, user_id, name, secret_hash, prefix, is_admin, scopes, created_at, revoked_at, "
    "last_used_at";

ApiKey ReadKey(const Statement& st) {
  ApiKey k;
  k.id = st.Text(0);
  k.user_id = st.Text(1);
  k.name = st.Text(2);
  k.secret_hash = st.Text(3);
  k.prefix = st.Text(4);
  k.is_admin = st.Int(5) != 0;
  k.scopes = st.Text(6);
  k.created_at = FromMillis(st.Int(7));
  if (auto v = st.OptInt(8)) k.revoked_at = FromMillis(*v);
  if (auto v = st.OptInt(9)) k.last_used_at = FromMillis(*v);
  return k;
}

User ReadUser(const Statement& st) {
  return User{st.Text(0), st.Text(1), st.Text(2), FromMillis(st.Int(3))};
}

Status ValidateUser(const User& user) {
  if (user.id.empty()) return InvalidArgument("user id must not be empty", "id");
  if (user.plan.empty()) return InvalidArgument("user plan must not be empty", "plan");
  return Status::Ok();
}

Result<ApiKey> QueryOneKey(SqliteDatabase& db, std::string_view where, std::string_view value,
                           std::string_view what) {
  std::string sql = fmt::format("SELECT {} FROM api_keys WHERE {} = ?1", kKeyColumns, where);
  return db.Read([&](Connection& c) -> Result<ApiKey> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    st.Bind(1, value);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound(fmt::format("no API key with {}", what));
    return ReadKey(st);
  });
}

}  // namespace

Status ValidatePage(const PageRequest& page) {
  if (page.limit < 1 || page.limit > 1000) return InvalidArgument("limit must be 1..1000", "limit");
  return Status::Ok();
}

Status SqliteStore::CreateUser(const User& user) {
  RETURN_IF_ERROR(ValidateUser(user));
  Status st = db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "INSERT INTO users(id, plan, limits_json, created_at) VALUES (?1, ?2, ?3, ?4)"));
    return s.Bind(1, user.id).Bind(2, user.plan).Bind(3, user.limits_json)
        .Bind(4, ToMillis(user.created_at)).Run();
  });
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("user '{}' already exists", user.id));
  }
  return st;
}

Result<User> SqliteStore::GetUser(std::string_view id) {
  return db_->Read([&](Connection& c) -> Result<User> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT id, plan, limits_json, created_at FROM users WHERE id = ?1"));
    st.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound(fmt::format("no user '{}'", id));
    return ReadUser(st);
  });
}

Status SqliteStore::UpdateUser(const User& user) {
  RETURN_IF_ERROR(ValidateUser(user));
  bool found = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "UPDATE users SET plan = ?2, limits_json = ?3 WHERE id = ?1"));
    RETURN_IF_ERROR(s.Bind(1, user.id).Bind(2, user.plan).Bind(3, user.limits_json).Run());
    found = tx.conn().Changes() > 0;
    return Status::Ok();
  }));
  if (!found) return NotFound(fmt::format("no user '{}'", user.id));
  return Status::Ok();
}

Result<Page<User>> SqliteStore::ListUsers(const PageRequest& page) {
  RETURN_IF_ERROR(ValidatePage(page));
  return db_->Read([&](Connection& c) -> Result<Page<User>> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT id, plan, limits_json, created_at FROM users WHERE id > ?1 ORDER BY id "
        "LIMIT ?2"));
    st.Bind(1, page.cursor).Bind(2, int64_t{page.limit} + 1);
    Page<User> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.items.push_back(ReadUser(st));
    }
    if (out.items.size() > static_cast<size_t>(page.limit)) {
      out.items.pop_back();
      out.next_cursor = out.items.back().id;
    }
    return out;
  });
}

Status SqliteStore::CreateApiKey(const ApiKey& key) {
  if (key.id.empty()) return InvalidArgument("API key id must not be empty", "id");
  if (key.user_id.empty()) return InvalidArgument("API key needs a user", "user_id");
  if (key.secret_hash.size() != 64) {
    return InvalidArgument("secret_hash must be a hex sha256 (64 characters)", "secret_hash");
  }
  Status st = db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(fmt::format(
        "INSERT INTO api_keys({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        kKeyColumns)));
    auto ms = [](const std::optional<Time>& t) -> std::optional<int64_t> {
      if (!t) return std::nullopt;
      return ToMillis(*t);
    };
    return s.Bind(1, key.id).Bind(2, key.user_id).Bind(3, key.name).Bind(4, key.secret_hash)
        .Bind(5, key.prefix).Bind(6, int64_t{key.is_admin}).Bind(7, key.scopes)
        .Bind(8, ToMillis(key.created_at)).Bind(9, ms(key.revoked_at))
        .Bind(10, ms(key.last_used_at)).Run();
  });
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("API key '{}' or its secret already exists", key.id));
  }
  return st;
}

Result<ApiKey> SqliteStore::GetApiKey(std::string_view id) {
  return QueryOneKey(*db_, "id", id, fmt::format("id '{}'", id));
}

Result<ApiKey> SqliteStore::FindApiKeyByHash(std::string_view secret_hash) {
  return QueryOneKey(*db_, "secret_hash", secret_hash, "this secret");
}

Result<std::vector<ApiKey>> SqliteStore::ListApiKeys(std::string_view user_id) {
  std::string sql = fmt::format("SELECT {} FROM api_keys {} ORDER BY created_at, id", kKeyColumns,
                                user_id.empty() ? "" : "WHERE user_id = ?1");
  return db_->Read([&](Connection& c) -> Result<std::vector<ApiKey>> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    if (!user_id.empty()) st.Bind(1, user_id);
    std::vector<ApiKey> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      out.push_back(ReadKey(st));
    }
  });
}

Result<bool> SqliteStore::RevokeApiKey(std::string_view id, Time now) {
  bool revoked = false;
  bool exists = false;
  RETURN_IF_ERROR(db_->Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL"));
    RETURN_IF_ERROR(s.Bind(1, id).Bind(2, ToMillis(now)).Run());
    revoked = tx.conn().Changes() > 0;
    if (revoked) {
      exists = true;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Statement q, tx.conn().Prepare("SELECT 1 FROM api_keys WHERE id = ?1"));
    ASSIGN_OR_RETURN(exists, q.Bind(1, id).Step());
    return Status::Ok();
  }));
  if (!exists) return NotFound(fmt::format("no API key with id '{}'", id));
  return revoked;
}

Status SqliteStore::TouchApiKey(std::string_view id, Time now) {
  db_->WriteAsync([id = std::string(id), ms = ToMillis(now)](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1"));
    return s.Bind(1, id).Bind(2, ms).Run();
  }, {}, SqliteDatabase::Urgency::kSoon);
  return Status::Ok();
}

}  // namespace inferline::store
