// `inferline keys`: create, list and revoke API keys in the embedded store (the database of
// `inferline serve` in the same data directory; safe while serve runs, which sees a revocation
// within its key cache's TTL, one second by default).
//
//   inferline keys create --user alice [--plan default] [--admin] [--name laptop] [--json]
//   inferline keys list [--user alice]
//   inferline keys revoke key_XXXXXXXXXXXXXXXX
//
// `create` prints the secret once; the store keeps only its sha256.
#include <boost/json.hpp>
#include <fmt/chrono.h>

#include <cstdio>
#include <memory>

#include "app/command.h"
#include "app/data_dir.h"
#include "app/serve_options.h"
#include "common/json_value.h"
#include "gateway/api_keys.h"
#include "store/sqlite/sqlite_store.h"

namespace inferline::app {
namespace {

struct KeysFlags {
  std::string user;
  std::string plan;
  std::string name;
  bool admin = false;
  bool json = false;
  std::string list_user;
  std::string key_id;
};

std::string FormatTime(const std::optional<store::Time>& t) {
  if (!t) return "-";
  auto secs = std::chrono::floor<std::chrono::seconds>(*t);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}Z", secs);
}

int Fail(const Status& st) {
  std::fprintf(stderr, "inferline keys: %s\n", st.ToString().c_str());
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int Create(store::Store& store, const ServeOptionValues& v, const KeysFlags& f) {
  gateway::IssueKeyRequest req;
  req.user_id = f.user;
  req.plan = f.plan;
  req.default_plan = v.default_plan;
  req.is_admin = f.admin;
  req.name = f.name;
  auto known = [&](std::string_view p) { return v.plans->Has(p); };
  Result<gateway::IssuedKey> issued = gateway::IssueKey(store, req, known, store::Clock::now());
  if (!issued.ok()) return Fail(issued.status());
  if (f.json) {
    boost::json::object o{{"id", issued->key.id},
                          {"user_id", issued->key.user_id},
                          {"is_admin", issued->key.is_admin},
                          {"key", issued->secret}};
    std::printf("%s\n", SerializeJson(o).c_str());
    return 0;
  }
  std::printf("Created key %s for user %s%s%s.\n", issued->key.id.c_str(),
              issued->key.user_id.c_str(), issued->user_created ? " (new user)" : "",
              issued->key.is_admin ? " with admin scope" : "");
  std::printf("%s\n", issued->secret.c_str());
  std::printf("This is the only time the key is shown; store it safely.\n");
  return 0;
}

int List(store::Store& store, const KeysFlags& f) {
  Result<std::vector<store::ApiKey>> keys = store.ListApiKeys(f.list_user);
  if (!keys.ok()) return Fail(keys.status());
  std::printf("%-21s %-20s %-14s %-6s %-20s %-20s %-20s %s\n", "ID", "USER", "PREFIX", "ADMIN",
              "CREATED", "LAST USED", "REVOKED", "NAME");
  for (const auto& k : *keys) {
    std::printf("%-21s %-20s %-14s %-6s %-20s %-20s %-20s %s\n", k.id.c_str(), k.user_id.c_str(),
                k.prefix.c_str(), k.is_admin ? "yes" : "no", FormatTime(k.created_at).c_str(),
                FormatTime(k.last_used_at).c_str(), FormatTime(k.revoked_at).c_str(),
                k.name.c_str());
  }
  return 0;
}

int Revoke(store::Store& store, const KeysFlags& f) {
  Result<store::ApiKey> key = store.GetApiKey(f.key_id);
  if (!key.ok()) return Fail(key.status());
  Result<bool> revoked = store.RevokeApiKey(f.key_id, store::Clock::now());
  if (!revoked.ok()) return Fail(revoked.status());
  std::printf("%s %s (user %s).\n", *revoked ? "Revoked" : "Already revoked:", f.key_id.c_str(),
              key->user_id.c_str());
  return 0;
}

}  // namespace

void AddKeysCommand(CLI::App& app, Commands& commands) {
  CLI::App* keys = app.add_subcommand("keys", "Create, list and revoke API keys");
  keys->require_subcommand(1);
  auto cfg = std::make_shared<config::Config>();
  auto values = std::make_shared<ServeOptionValues>();
  auto flags = std::make_shared<KeysFlags>();
  DeclareDataOptions(*cfg, *values);
  cfg->Bind(*keys);

  CLI::App* create = keys->add_subcommand("create", "Create a key (the secret is printed once)");
  create->fallthrough();
  create->add_option("--user", flags->user, "User id (created if new)")->required();
  create->add_option("--plan", flags->plan, "Plan of a new user (default: quota.default_plan)");
  create->add_flag("--admin", flags->admin, "Give the key admin scope");
  create->add_option("--name", flags->name, "A label for the key");
  create->add_flag("--json", flags->json, "Print {id, user_id, is_admin, key} as JSON");
  CLI::App* list = keys->add_subcommand("list", "List keys (never their secrets)");
  list->fallthrough();
  list->add_option("--user", flags->list_user, "Only this user's keys");
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key");
  revoke->fallthrough();
  revoke->add_option("key_id", flags->key_id, "The key's id (key_...)")->required();

  commands.Add(keys, [=] {
    return RunWithConfig(*cfg, nullptr, [&] {
      Result<std::shared_ptr<store::SqliteDatabase>> db =
          OpenDataDir(ResolveDataDir(values->data_dir));
      if (!db.ok()) return Fail(db.status());
      store::SqliteStore store(*db);
      if (create->parsed()) return Create(store, *values, *flags);
      if (list->parsed()) return List(store, *flags);
      return Revoke(store, *flags);
    });
  });
}

}  // namespace inferline::app
