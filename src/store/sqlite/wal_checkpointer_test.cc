#include "store/sqlite/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_database.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::store {
namespace {

constexpr int kRows = 600;
const CheckpointOptions kSmall{.step_pages = 16, .restart_pages = 64};

// One transaction per row, each row about 3 KB: two or three WAL pages per commit.
void WriteRows(SqliteDatabase& db) {
  const std::string limits(3000, 'x');
  for (int i = 0; i < kRows; ++i) {
    Status st = db.Write([&](WriteTx& tx) -> Status {
      ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
          "INSERT INTO users(id, plan, limits_json, created_at) VALUES (?1, 'free', ?2, 0)"));
      return s.Bind(1, "user" + std::to_string(i)).Bind(2, limits).Run();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
}

int64_t CountRows(SqliteDatabase& db) {
  Result<int64_t> n = db.Read([](Connection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("SELECT COUNT(*) FROM users"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : -1;
  });
  return n.ok() ? *n : -1;
}

TEST(WalCheckpointer, KeepsTheWalShortAndStartsItOver) {
  testing::TempDir dir;
  metrics::Registry registry;
  auto db = SqliteDatabase::Open(
      {.path = dir.File("a.db"), .checkpoint = kSmall, .metrics = &registry});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  WriteRows(**db);
  // The background passes run on their own thread: give a loaded machine time to run one.
  for (int i = 0; i < 500 && (*db)->writer_stats().checkpoints.background == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CheckpointStats stats = (*db)->writer_stats().checkpoints;
  EXPECT_GT(stats.background, 0u);
  EXPECT_GT(stats.writer, 0u);
  // The WAL file keeps its largest size: without restarts it would hold every page written
  // (about 2,400 here). Allow far more than restart_pages: on a busy machine a slow background
  // pass holds the checkpoint lock, and the writer's checkpoints wait for it to end.
  const auto wal_bytes = std::filesystem::file_size(dir.File("a.db-wal"));
  EXPECT_LT(wal_bytes, 1200u * (4096 + 24)) << "the WAL never started over";
  const std::string text = registry.Render();
  EXPECT_NE(text.find("inferline_store_checkpoints_total{by=\"writer\"}"), std::string::npos)
      << text;
  EXPECT_EQ(CountRows(**db), kRows);
}

// A read transaction pins its snapshot: checkpoints cannot copy past it, so the WAL cannot
// start over, and the writer's incomplete checkpoints do not count. Once the read ends, the
// next commit completes one.
TEST(WalCheckpointer, ALongReadHoldsTheWalUntilItEnds) {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .checkpoint = kSmall});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Write([](WriteTx& tx) {
    return tx.conn().Exec("INSERT INTO users(id, plan, created_at) VALUES ('first', 'free', 0)");
  }).ok());
  std::atomic<bool> reading{false}, release{false};
  std::thread reader([&] {
    Status st = (*db)->Read([&](Connection& c) -> Status {
      ASSIGN_OR_RETURN(Statement q, c.Prepare("SELECT id FROM users"));
      // A statement that has returned a row and not finished keeps its snapshot.
      ASSIGN_OR_RETURN(bool row, q.Step());
      EXPECT_TRUE(row);
      reading = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
  });
  while (!reading) std::this_thread::yield();
  const uint64_t before = (*db)->writer_stats().checkpoints.writer;
  WriteRows(**db);
  EXPECT_EQ((*db)->writer_stats().checkpoints.writer, before);
  release = true;
  reader.join();
  ASSERT_TRUE((*db)->Write([](WriteTx& tx) { return tx.conn().Exec("DELETE FROM users"); }).ok());
  EXPECT_GT((*db)->writer_stats().checkpoints.writer, before);
}

TEST(WalCheckpointer, CheckpointedRowsSurviveReopening) {
  testing::TempDir dir;
  {
    auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .checkpoint = kSmall});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    WriteRows(**db);
  }
  auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .checkpoint = kSmall});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(CountRows(**db), kRows);
  Result<std::string> check = (*db)->Read([](Connection& c) -> Result<std::string> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("PRAGMA integrity_check"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Text(0) : std::string("no answer");
  });
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_EQ(*check, "ok");
}

TEST(WalCheckpointer, RejectsStepsLargerThanTheRestart) {
  testing::TempDir dir;
  EXPECT_EQ(SqliteDatabase::Open({.path = dir.File("a.db"),
                                  .checkpoint = {.step_pages = 0, .restart_pages = 10}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteDatabase::Open({.path = dir.File("b.db"),
                                  .checkpoint = {.step_pages = 20, .restart_pages = 10}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inferline::store
