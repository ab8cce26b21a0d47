#include "quota/local/local_quota_ledger.h"

#include <gtest/gtest.h>

#include <random>

#include "quota/quota_ledger_contract_test.h"
#include "quota/reconcile.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/testing/temp_dir.h"
#include "store/sqlite/testing/writer_hold.h"

namespace inferline::quota {
namespace {

using contract::Req;
using contract::Utc;

template <bool kWait>
class SqliteEnv {
 public:
  static constexpr bool kDurable = true;
  SqliteEnv() { Restart(Utc(2024, 3, 10)); }
  std::shared_ptr<QuotaLedger> ledger() { return ledger_; }
  void Restart(Time now) {
    ledger_.reset();
    db_.reset();
    auto db = store::SqliteDatabase::Open({.path = dir_.File("quota.db")});
    if (!db.ok()) std::abort();
    db_ = *db;
    auto ledger = LocalQuotaLedger::Open(db_, now, {.wait_for_commit = kWait});
    if (!ledger.ok()) std::abort();
    ledger_ = std::move(*ledger);
  }

 private:
  store::testing::TempDir dir_;
  std::shared_ptr<store::SqliteDatabase> db_;
  std::shared_ptr<QuotaLedger> ledger_;
};

class MemoryEnv {
 public:
  static constexpr bool kDurable = false;
  MemoryEnv() : ledger_(std::move(*LocalQuotaLedger::Open(nullptr, Utc(2024, 3, 10)))) {}
  std::shared_ptr<QuotaLedger> ledger() { return ledger_; }
  void Restart(Time) {}

 private:
  std::shared_ptr<QuotaLedger> ledger_;
};

}  // namespace

namespace contract {
using LocalEnvs = ::testing::Types<SqliteEnv<false>, SqliteEnv<true>, MemoryEnv>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, QuotaLedgerContractTest, LocalEnvs);
}  // namespace contract

namespace {

struct Embedded {
  store::testing::TempDir dir;
  std::shared_ptr<store::SqliteDatabase> db;
  std::shared_ptr<store::SqliteStore> store;
  std::unique_ptr<LocalQuotaLedger> ledger;

  explicit Embedded(Time now) { Reopen(now); }
  void Reopen(Time now) {
    ledger.reset();
    store.reset();
    db.reset();
    db = *store::SqliteDatabase::Open({.path = dir.File("app.db")});
    store = std::make_shared<store::SqliteStore>(db);
    ledger = std::move(*LocalQuotaLedger::Open(db, now));
  }
};

store::RequestRecord Record(const std::string& id, int64_t reserved) {
  store::RequestRecord r;
  r.id = id;
  r.user_id = "u";
  r.key_id = "k";
  r.model = "tiny";
  r.input_json = "\"hi\"";
  r.prompt_tokens = 3;
  r.reserved_tokens = reserved;
  r.created_at = Utc(2024, 3, 10, 12);
  return r;
}

// Reserve returns before its own commit; the request record written next commits no earlier,
// so a reopened database has the reservation whenever it has the record.
TEST(LocalQuotaLedger, ReservationIsDurableOnceTheNextWriteReturns) {
  Time now = Utc(2024, 3, 10, 12);
  Embedded app(now);
  ASSERT_TRUE(app.ledger->Reserve(Req("r1", 50), {}, now)->granted);
  ASSERT_TRUE(app.store->CreateRequest(Record("r1", 50), std::nullopt).ok());
  app.Reopen(now);
  auto open = app.ledger->ListReservations();
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].request_id, "r1");
  EXPECT_EQ((*open)[0].user_id, "u");
}

// The journal's flush shares a transaction with other writes; when one of them fails, the
// batch runs again and the flush must write the rows it took the first time, once.
TEST(LocalQuotaLedger, AJournalFlushRunAgainWritesItsRowsOnce) {
  Time now = Utc(2024, 3, 10, 12);
  Embedded app(now);
  store::testing::WriterHold hold(*app.db);
  Limits l{.tokens_per_day = 10000};
  ASSERT_TRUE(app.ledger->Reserve(Req("r1", 50), l, now)->granted);
  ASSERT_TRUE(app.ledger->Reserve(Req("r2", 70), l, now)->granted);
  Status failed;
  app.db->WriteAsync([](store::WriteTx&) { return InvalidArgument("fails"); },
                     [&](const Status& st) { failed = st; });
  hold.Release();
  ASSERT_TRUE(app.db->Write([](store::WriteTx&) { return Status::Ok(); }).ok());
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(app.db->writer_stats().retried_batches, 1u);
  app.Reopen(now);
  auto both = app.ledger->ListReservations();
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->size(), 2u);
  ASSERT_TRUE(*app.ledger->Settle("r1", 20, now));
  app.Reopen(now);
  auto open = app.ledger->ListReservations();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].request_id, "r2");
  auto usage = app.ledger->Usage("u", l, now);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).used, 20);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).reserved, 70);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyRequests).used, 1);
}

TEST(LocalQuotaLedger, PeriodicReconcileLeavesYoungReservationsAlone) {
  Time now = Utc(2024, 3, 10, 12);
  Embedded app(now);
  Limits l{.concurrent_requests = 5, .tokens_per_day = 10000};
  // A gateway that died after reserving: no record will ever come.
  ASSERT_TRUE(app.ledger->Reserve(Req("orphan", 100), l, now)->granted);
  // A live gateway between Reserve and CreateRequest, half a minute later.
  ASSERT_TRUE(app.ledger->Reserve(Req("in-flight", 100), l, now + std::chrono::seconds(30))->granted);
  const Time later = now + std::chrono::seconds(61);
  auto report = ReconcileReservations(*app.ledger, *app.store, later, std::chrono::seconds(60));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->refunded_unrecorded, 1);
  EXPECT_EQ(report->too_recent, 1);
  auto usage = app.ledger->Usage("u", l, later);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).reserved, 100);  // in-flight's
  EXPECT_EQ(contract::Find(*usage, Window::kConcurrentRequests).reserved, 1);
}

TEST(LocalQuotaLedger, ReconcileSettlesEveryReservationExactlyOnce) {
  Time now = Utc(2024, 3, 10, 12);
  Embedded app(now);
  Limits l{.tokens_per_day = 10000};
  for (const char* id : {"unrecorded", "finished", "cancelled", "running"}) {
    ASSERT_TRUE(app.ledger->Reserve(Req(id, 100), l, now)->granted);
    if (std::string(id) != "unrecorded") {
      ASSERT_TRUE(app.store->CreateRequest(Record(id, 100), std::nullopt).ok());
    }
  }
  store::RequestOutcome done{.status = store::RequestStatus::kCompleted,
                             .usage = store::TokenUsage{3, 40}, .finished_at = now};
  ASSERT_TRUE(*app.store->FinalizeRequest("finished", done));
  ASSERT_TRUE(app.store->CancelRequest("cancelled", now)->cancelled);
  ASSERT_TRUE(*app.store->MarkRunning("running", "w", now));
  app.Reopen(now);  // "crash" between finalize and settle

  auto report = ReconcileReservations(*app.ledger, *app.store, now);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->refunded_unrecorded, 1);
  EXPECT_EQ(report->settled_finished, 2);
  EXPECT_EQ(report->left_open, 1);
  auto usage = app.ledger->Usage("u", l, now);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).used, 43);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).reserved, 100);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyRequests).used, 2);  // unrecorded refunded

  // Again: nothing left to do, the collector's late settle is a no-op.
  auto again = ReconcileReservations(*app.ledger, *app.store, now);
  EXPECT_EQ(again->refunded_unrecorded + again->settled_finished, 0);
  EXPECT_EQ(*app.ledger->Settle("finished", 43, now), false);
  EXPECT_EQ(*app.ledger->Settle("running", 17, now), true);
  app.Reopen(now);
  usage = app.ledger->Usage("u", l, now);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).used, 60);
  EXPECT_EQ(contract::Find(*usage, Window::kDailyTokens).reserved, 0);
}

// The acceptance shape: many concurrent requests from one key, only some fit; after settling,
// used equals the sum of actual usage exactly and never exceeded the limit on the way.
TEST(LocalQuotaLedger, ConcurrentAdmissionSettlesToExactUsage) {
  Time now = Utc(2024, 3, 10, 12);
  Embedded app(now);
  Limits l{.tokens_per_day = 20000};
  std::atomic<int64_t> actual_sum{0};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 30; ++i) {
        std::string id = std::to_string(t) + "." + std::to_string(i);
        int64_t reserve = 100 + static_cast<int64_t>(rng() % 200);
        auto out = app.ledger->Reserve(Req(id, reserve), l, now);
        ASSERT_TRUE(out.ok());
        if (!out->granted) {
          EXPECT_GT(out->exceeded->retry_after.count(), 0);
          continue;
        }
        ++granted;
        int64_t actual = static_cast<int64_t>(rng() % static_cast<uint64_t>(reserve + 1));
        actual_sum += actual;
        ASSERT_TRUE(*app.ledger->Settle(id, actual, now));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(granted.load(), 0);
  EXPECT_LT(granted.load(), 300);
  auto daily = contract::Find(*app.ledger->Usage("u", l, now), Window::kDailyTokens);
  EXPECT_EQ(daily.used, actual_sum.load());
  EXPECT_EQ(daily.reserved, 0);
  EXPECT_LE(daily.used, 20000);
  app.Reopen(now);
  daily = contract::Find(*app.ledger->Usage("u", l, now), Window::kDailyTokens);
  EXPECT_EQ(daily.used, actual_sum.load());
}

}  // namespace
}  // namespace inferline::quota
