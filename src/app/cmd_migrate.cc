// `inferline migrate`: applies the PostgreSQL schema migrations (migrations/postgres, compiled
// into the binary) and exits: 0 when the database is at this binary's version. Safe to run from
// several pods at once (an advisory lock serialises them); a Kubernetes Job runs it before the
// gateway, worker and collector roll out.
#include <memory>

#include "app/cluster_options.h"
#include "app/cluster_seams.h"
#include "app/command.h"
#include "common/log.h"
#include "store/postgres/postgres_migrations.h"

namespace inferline::app {
namespace {

struct MigrateCommandOptions {
  LogOptions log;
  HttpConfig http;  // declared so that one file configures every process; unused here
  ClusterOptionValues cluster;
};

int RunMigrate(const MigrateCommandOptions& opts) {
  store::PostgresOptions o = PostgresOptionsFrom(opts.cluster);
  o.statement_timeout = std::chrono::milliseconds(0);  // migrations may take long
  Result<int> version = store::RunPostgresMigrations(o);
  if (!version.ok()) {
    log::Error("migration failed: {}", version.status().ToString());
    return 1;
  }
  log::Info("PostgreSQL schema at version {} (this binary's newest: {})", *version,
            store::LatestPostgresSchemaVersion());
  return 0;
}

}  // namespace

void AddMigrateCommand(CLI::App& app, Commands& commands) {
  CLI::App* sub = app.add_subcommand(
      "migrate", "Apply the PostgreSQL schema migrations of the distributed deployment, then exit");
  auto opts = std::make_shared<MigrateCommandOptions>();
  auto cfg = std::make_shared<config::Config>();
  DeclareLogOptions(*cfg, opts->log);
  // The same options as the other distributed subcommands, so that one file configures all.
  DeclareHttpOptions(*cfg, opts->http, 8080);
  DeclareClusterOptions(*cfg, opts->cluster);
  cfg->Bind(*sub);
  commands.Add(sub, [opts, cfg] {
    return RunWithConfig(*cfg, &opts->log, [&] { return RunMigrate(*opts); });
  });
}

}  // namespace inferline::app
