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

int RunMigrate(const ClusterCommandOptions& opts) {
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
  AddClusterCommand(app, commands, "migrate",
                    "Apply the PostgreSQL schema migrations of the distributed deployment, then "
                    "exit",
                    8080, RunMigrate);
}

}  // namespace inferline::app
