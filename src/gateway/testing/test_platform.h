// TestPlatform: the embedded seams (SQLite store, broker and quota ledger in a temporary
// database, the in-process event bus) and the shipped kjv-small tokenizer, for gateway tests;
// plus a stand-in for the worker and collector that answers one queued request with given text.
//
// Thread-safety: build and destroy on the test thread; ServeOne may run on another thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "events/local/local_event_bus.h"
#include "gateway/gateway.h"
#include "gateway/model_catalog.h"
#include "gateway/plans.h"
#include "queue/sqlite/sqlite_broker.h"
#include "quota/local/local_quota_ledger.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::gateway::testing {

inline constexpr const char* kModelName = "kjv-small";

class TestPlatform {
 public:
  TestPlatform();
  ~TestPlatform();

  // Creates `user` (plan, overrides) if needed and a key for it; returns the secret.
  std::string AddUser(const std::string& user, const std::string& plan = "unlimited",
                      const std::string& limits_json = "{}", bool admin = false);

  // Acts as worker and collector for the next queued request: `started`, one `token` event per
  // piece, then finalize, settle and `completed` (usage: the prompt tokens and one completion
  // token per piece). False when nothing was queued within `wait`.
  bool ServeOne(const std::vector<std::string>& pieces,
                std::chrono::milliseconds wait = std::chrono::milliseconds(5000));

  // A gateway's dependencies on these seams, with metrics in `registry`.
  GatewayDeps Deps(metrics::Registry& registry) {
    GatewayDeps deps;
    deps.store = store.get();
    deps.ledger = ledger.get();
    deps.broker = broker.get();
    deps.bus = bus.get();
    deps.models = &models;
    deps.plans = &plans;
    deps.registry = &registry;
    return deps;
  }

  store::testing::TempDir dir;
  std::shared_ptr<store::SqliteDatabase> db;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<queue::SqliteBroker> broker;
  std::unique_ptr<quota::LocalQuotaLedger> ledger;
  std::unique_ptr<events::LocalEventBus> bus;
  ModelCatalog models;
  PlanCatalog plans;
};

}  // namespace inferline::gateway::testing
