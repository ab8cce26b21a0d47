#include "store/sqlite/sqlite_database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/testing/kill_after_acks.h"
#include "store/sqlite/testing/temp_dir.h"
#include "store/sqlite/testing/writer_hold.h"

namespace inferline::store {
namespace {

std::shared_ptr<SqliteDatabase> OpenOrDie(const std::string& path) {
  auto db = SqliteDatabase::Open(DatabaseOptions{.path = path});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? *db : nullptr;
}

Status InsertUser(WriteTx& tx, const std::string& id) {
  ASSIGN_OR_RETURN(Statement st, tx.conn().Prepare(
      "INSERT INTO users(id, plan, created_at) VALUES (?1, 'free', 0)"));
  return st.Bind(1, id).Run();
}

// Waits (up to 5 s, generous in tests) for a write's `done` to have set `flag`.
bool WaitForFlag(const std::atomic<bool>& flag) {
  for (int i = 0; i < 5000 && !flag; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return flag.load();
}

int64_t CountUsers(SqliteDatabase& db) {
  Result<int64_t> n = db.Read([](Connection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("SELECT COUNT(*) FROM users"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : -1;
  });
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

TEST(SqliteDatabase, OpensAndMigratesOnceAcrossReopen) {
  testing::TempDir dir;
  int expected = static_cast<int>(EmbeddedMigrationFiles().size());
  ASSERT_GT(expected, 0);
  {
    auto db = OpenOrDie(dir.File("a.db"));
    ASSERT_TRUE(db);
    EXPECT_EQ(db->schema_version(), expected);
    ASSERT_TRUE(db->Write([](WriteTx& tx) { return InsertUser(tx, "u1"); }).ok());
  }
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  EXPECT_EQ(db->schema_version(), expected);
  EXPECT_EQ(CountUsers(*db), 1);
}

// Migration 0005 rebuilds quota_reservations as a WITHOUT ROWID table: the outstanding
// reservations of a version-4 database survive it.
TEST(SqliteMigrations, Version5KeepsOutstandingReservations) {
  testing::TempDir dir;
  auto all = ParseMigrations(EmbeddedMigrationFiles());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_GE(all->size(), 5u);
  auto conn = Connection::Open(dir.File("v4.db"), Connection::Mode::kReadWrite, 1000);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  std::vector<Migration> first4(all->begin(), all->begin() + 4);
  ASSERT_EQ(*ApplyMigrations(**conn, first4, 0), 4);
  ASSERT_TRUE((*conn)->Exec("INSERT INTO quota_reservations VALUES "
                            "('req_a', 'u1', 120, 1, 20000, 24300, 5), "
                            "('req_b', 'u2', 7, 1, 20001, 24301, 6)").ok());
  ASSERT_EQ(*ApplyMigrations(**conn, *all, 0), static_cast<int>(all->size()));
  auto st = (*conn)->Prepare(
      "SELECT group_concat(request_id || ':' || user_id || ':' || tokens || ':' || requests || "
      "':' || day || ':' || month || ':' || created_at, ' ') FROM "
      "(SELECT * FROM quota_reservations ORDER BY request_id)");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->Text(0), "req_a:u1:120:1:20000:24300:5 req_b:u2:7:1:20001:24301:6");
  // A WITHOUT ROWID table has no rowid to select.
  EXPECT_FALSE((*conn)->Prepare("SELECT rowid FROM quota_reservations").ok());
}

TEST(SqliteDatabase, RejectsPathsWithoutAFile) {
  EXPECT_EQ(SqliteDatabase::Open({.path = ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteDatabase::Open({.path = ":memory:"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(SqliteDatabase::Open({.path = "/nonexistent-dir/x/y.db"}).ok());
}

TEST(SqliteDatabase, RefusesADatabaseFromANewerBinary) {
  testing::TempDir dir;
  {
    auto db = OpenOrDie(dir.File("a.db"));
    ASSERT_TRUE(db->Write([](WriteTx& tx) {
      return tx.conn().Exec("INSERT INTO schema_migrations VALUES (9999, 'future.sql', 0)");
    }).ok());
  }
  auto again = SqliteDatabase::Open({.path = dir.File("a.db")});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

TEST(SqliteMigrations, ParseRejectsBadNamesAndOrder) {
  EXPECT_FALSE(ParseMigrations({{"init.sql", "x"}}).ok());
  EXPECT_FALSE(ParseMigrations({{"0001_a.txt", "x"}}).ok());
  EXPECT_FALSE(ParseMigrations({{"0002_a.sql", "x"}, {"0001_b.sql", "y"}}).ok());
  EXPECT_FALSE(ParseMigrations({{"0001_a.sql", "x"}, {"0001_b.sql", "y"}}).ok());
  auto ok = ParseMigrations({{"0001_a.sql", "x"}, {"0003_b.sql", "y"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[1].version, 3);
}

TEST(SqliteDatabase, GroupCommitsConcurrentWriters) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::atomic<int> failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        if (!db->Write([&](WriteTx& tx) { return InsertUser(tx, id); }).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountUsers(*db), kThreads * kPerThread);
  WriterStats stats = db->writer_stats();
  // Informational (not asserted): the rate and how many writes shared a commit.
  std::cout << "durable inserts: " << kThreads * kPerThread << " in " << secs << " s = "
            << static_cast<int>(kThreads * kPerThread / secs) << "/s, "
            << stats.operations << " ops in " << stats.transactions << " transactions\n";
}

TEST(SqliteDatabase, QueuedWritesShareOneTransaction) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  // Hold the writer inside a first operation while 100 more queue up behind it.
  testing::WriterHold hold(*db);
  WriterStats before = db->writer_stats();
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) {
    db->WriteAsync([i](WriteTx& tx) { return InsertUser(tx, "u" + std::to_string(i)); },
                   [&](const Status& st) { if (st.ok()) ++done; });
  }
  hold.Release();
  ASSERT_TRUE(db->Write([](WriteTx&) { return Status::Ok(); }).ok());
  EXPECT_EQ(done.load(), 100);
  WriterStats after = db->writer_stats();
  // The blocked transaction, then one for the 100 queued writes plus the final Write.
  EXPECT_EQ(after.transactions - before.transactions, 2u);
  EXPECT_EQ(CountUsers(*db), 100);
}

TEST(SqliteDatabase, AnIdleWriteCommitsOnTheCallersThread) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  std::thread::id ran_on, hook_on;
  ASSERT_TRUE(db->Write([&](WriteTx& tx) {
    ran_on = std::this_thread::get_id();
    tx.AfterCommit([&] { hook_on = std::this_thread::get_id(); });
    return InsertUser(tx, "u1");
  }).ok());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(hook_on, std::this_thread::get_id());
  EXPECT_EQ(CountUsers(*db), 1);
}

TEST(SqliteDatabase, ADeferredWriteRidesAlongWithTheNextWrite) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  std::atomic<bool> deferred_done{false};
  WriterStats before = db->writer_stats();
  db->WriteAsync([](WriteTx& tx) { return InsertUser(tx, "deferred"); },
                 [&](const Status& st) { deferred_done = st.ok(); },
                 SqliteDatabase::Urgency::kSoon);
  // The next write runs it first, in the same transaction, so it is durable when Write returns.
  ASSERT_TRUE(db->Write([](WriteTx& tx) { return InsertUser(tx, "next"); }).ok());
  EXPECT_TRUE(deferred_done.load());
  EXPECT_EQ(db->writer_stats().transactions - before.transactions, 1u);
  EXPECT_EQ(CountUsers(*db), 2);
}

TEST(SqliteDatabase, ADeferredWriteAloneCommitsWithinItsDelay) {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .defer = std::chrono::milliseconds(20)});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::atomic<bool> done{false};
  (*db)->WriteAsync([](WriteTx& tx) { return InsertUser(tx, "alone"); },
                    [&](const Status& st) { done = st.ok(); }, SqliteDatabase::Urgency::kSoon);
  // No deadline assertion (timing belongs in benchmarks): only that it commits on its own.
  EXPECT_TRUE(WaitForFlag(done));
  EXPECT_EQ(CountUsers(**db), 1);
}

TEST(SqliteDatabase, NudgeRunsADeferredWriteNow) {
  testing::TempDir dir;
  // A delay no test would wait for: only Nudge can make the write commit.
  auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .defer = std::chrono::hours(1)});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::atomic<bool> done{false};
  (*db)->WriteAsync([](WriteTx& tx) { return InsertUser(tx, "nudged"); },
                    [&](const Status& st) { done = st.ok(); }, SqliteDatabase::Urgency::kSoon);
  (*db)->Nudge();
  EXPECT_TRUE(WaitForFlag(done));
}

TEST(SqliteDatabase, WritesFromManyThreadsKeepEachThreadsOrder) {
  // Callers that find the writer idle commit themselves, others queue: each thread's own
  // sequence of asynchronous and blocking writes must still commit in the order submitted.
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Write([](WriteTx& tx) {
    return tx.conn().Exec("CREATE TABLE seq(thread INTEGER, n INTEGER, at INTEGER)");
  }).ok());
  std::atomic<int64_t> clock{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 200; ++n) {
        auto fn = [&, t, n](WriteTx& tx) -> Status {
          ASSIGN_OR_RETURN(Statement st, tx.conn().Prepare("INSERT INTO seq VALUES (?1, ?2, ?3)"));
          return st.Bind(1, int64_t{t}).Bind(2, int64_t{n}).Bind(3, clock.fetch_add(1)).Run();
        };
        if (n % 3 == 0) {
          EXPECT_TRUE(db->Write(fn).ok());
        } else {
          db->WriteAsync(fn, {}, n % 3 == 1 ? SqliteDatabase::Urgency::kNow
                                            : SqliteDatabase::Urgency::kSoon);
        }
      }
      EXPECT_TRUE(db->Write([](WriteTx&) { return Status::Ok(); }).ok());
    });
  }
  for (auto& th : threads) th.join();
  Result<int64_t> disorder = db->Read([](Connection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT COUNT(*) FROM seq a JOIN seq b ON a.thread = b.thread AND a.n < b.n "
        "AND a.at > b.at"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : -1;
  });
  ASSERT_TRUE(disorder.ok()) << disorder.status().ToString();
  EXPECT_EQ(*disorder, 0);
  Result<int64_t> rows = db->Read([](Connection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("SELECT COUNT(*) FROM seq"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : -1;
  });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 800);
}

TEST(SqliteDatabase, AFailingOperationRollsBackAloneAndSkipsItsHooks) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  testing::WriterHold hold(*db);
  std::atomic<int> hooks{0};
  Status first, bad, last;
  std::atomic<int> done{0};
  db->WriteAsync([&](WriteTx& tx) {
    tx.AfterCommit([&] { ++hooks; });
    return InsertUser(tx, "a");
  }, [&](const Status& st) { first = st; ++done; });
  db->WriteAsync([&](WriteTx& tx) {
    tx.AfterCommit([&] { hooks += 100; });
    RETURN_IF_ERROR(InsertUser(tx, "b"));
    return InsertUser(tx, "a");  // duplicate: the whole operation, "b" included, rolls back
  }, [&](const Status& st) { bad = st; ++done; });
  db->WriteAsync([&](WriteTx& tx) { return InsertUser(tx, "c"); },
                 [&](const Status& st) { last = st; ++done; });
  hold.Release();
  ASSERT_TRUE(db->Write([](WriteTx&) { return Status::Ok(); }).ok());
  EXPECT_EQ(done.load(), 3);
  EXPECT_TRUE(first.ok());
  EXPECT_EQ(bad.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(last.ok());
  EXPECT_EQ(hooks.load(), 1);
  EXPECT_EQ(CountUsers(*db), 2);  // a and c
  EXPECT_EQ(db->writer_stats().retried_batches, 1u);
}

// A batch runs without savepoints; only when one of its operations fails does it run again,
// each operation in a savepoint. Operations of a batch that fails nowhere run once.
TEST(SqliteDatabase, OperationsRunAgainOnlyWhenAnotherOfTheirBatchFails) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  auto run_batch = [&](bool with_failure, std::atomic<int>& runs) {
    testing::WriterHold hold(*db);
    for (int i = 0; i < 3; ++i) {
      db->WriteAsync([&, i, with_failure](WriteTx& tx) {
        ++runs;
        return InsertUser(tx, (with_failure ? "f" : "n") + std::to_string(i));
      });
    }
    if (with_failure) db->WriteAsync([](WriteTx&) { return InvalidArgument("no"); });
    hold.Release();
    ASSERT_TRUE(db->Write([](WriteTx&) { return Status::Ok(); }).ok());
  };
  std::atomic<int> clean_runs{0};
  run_batch(false, clean_runs);
  EXPECT_EQ(clean_runs.load(), 3);
  EXPECT_EQ(db->writer_stats().retried_batches, 0u);
  std::atomic<int> failed_runs{0};
  run_batch(true, failed_runs);
  EXPECT_EQ(failed_runs.load(), 6);  // once without savepoints, once with
  EXPECT_EQ(db->writer_stats().retried_batches, 1u);
  EXPECT_EQ(CountUsers(*db), 6);  // every insert of both batches, each once
}

TEST(SqliteDatabase, CountsBatchesAndErrorsInItsMetrics) {
  testing::TempDir dir;
  metrics::Registry registry;
  auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .metrics = &registry});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Write([](WriteTx& tx) { return InsertUser(tx, "a"); }).ok());
  EXPECT_FALSE((*db)->Write([](WriteTx& tx) { return InsertUser(tx, "a"); }).ok());
  std::string text = registry.Render();
  EXPECT_NE(text.find("inferline_store_write_batch_size_count 2"), std::string::npos) << text;
  EXPECT_NE(text.find("inferline_store_write_errors_total 1"), std::string::npos) << text;
}

TEST(SqliteDatabase, ALoneFailingOperationReportsItsOwnError) {
  testing::TempDir dir;
  auto db = OpenOrDie(dir.File("a.db"));
  ASSERT_TRUE(db);
  Status st = db->Write([](WriteTx&) { return InvalidArgument("nope"); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(db->Write([](WriteTx& tx) { return InsertUser(tx, "x"); }).ok());
  EXPECT_EQ(CountUsers(*db), 1);
}

// kill -9 in the middle of a stream of writes: every write whose Write() returned survives.
TEST(SqliteDatabase, AcknowledgedWritesSurviveKill9) {
  testing::TempDir dir;
  std::string path = dir.File("crash.db");
  std::shared_ptr<SqliteDatabase> child_db;  // the child's
  const int acked = testing::KillAfterAcks(200, [&]() -> testing::AckedWrite {
    auto db = SqliteDatabase::Open({.path = path});
    if (!db.ok()) return nullptr;
    child_db = *db;
    return [&](int i) {
      const std::string id = "k" + std::to_string(i);
      return child_db->Write([&](WriteTx& tx) { return InsertUser(tx, id); }).ok();
    };
  });
  ASSERT_GE(acked, 200);
  auto db = OpenOrDie(path);
  ASSERT_TRUE(db);
  EXPECT_GE(CountUsers(*db), acked + 1);
}

}  // namespace
}  // namespace inferline::store
