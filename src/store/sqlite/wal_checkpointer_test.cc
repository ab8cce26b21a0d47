#include "store/sqlite/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_database.h"
#include "store/sqlite/testing/kill_after_acks.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::store {
namespace {

const CheckpointOptions kSmall{.step_pages = 16, .restart_pages = 64};
const std::string kLimits(3000, 'x');  // about 3 KB a row: two or three WAL pages per commit

Status InsertRow(SqliteDatabase& db, int i) {
  return db.Write([&](WriteTx& tx) -> Status {
    ASSIGN_OR_RETURN(Statement s, tx.conn().Prepare(
        "INSERT INTO users(id, plan, limits_json, created_at) VALUES (?1, 'free', ?2, 0)"));
    return s.Bind(1, "user" + std::to_string(i)).Bind(2, kLimits).Run();
  });
}

// One transaction per row.
void WriteRows(SqliteDatabase& db, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    Status st = InsertRow(db, i);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
}

// Writes rows (from `next`) until the WAL has started over `restarts` times, for up to 20 s
// (passes run on their own thread: a loaded machine runs them late). Returns the new `next`.
int WriteUntilRestarts(SqliteDatabase& db, int next, uint64_t restarts) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (db.writer_stats().checkpoints.restarts < restarts &&
         std::chrono::steady_clock::now() < deadline) {
    EXPECT_TRUE(InsertRow(db, next++).ok());
  }
  return next;
}

int64_t CountRows(SqliteDatabase& db) {
  Result<int64_t> n = db.Read([](Connection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("SELECT COUNT(*) FROM users"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : -1;
  });
  return n.ok() ? *n : -1;
}

std::string IntegrityCheck(SqliteDatabase& db) {
  Result<std::string> check = db.Read([](Connection& c) -> Result<std::string> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("PRAGMA integrity_check"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Text(0) : std::string("no answer");
  });
  return check.ok() ? *check : check.status().ToString();
}

TEST(WalCheckpointer, TheWalStartsOverAndStaysShort) {
  testing::TempDir dir;
  metrics::Registry registry;
  auto db = SqliteDatabase::Open(
      {.path = dir.File("a.db"), .checkpoint = kSmall, .metrics = &registry});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // 2,000 commits write about 5,000 WAL pages: without restarts the WAL file holds them all.
  WriteRows(**db, 0, 2000);
  const int rows = WriteUntilRestarts(**db, 2000, 3);
  const CheckpointStats stats = (*db)->writer_stats().checkpoints;
  EXPECT_GE(stats.restarts, 3u);
  EXPECT_GT(stats.background + stats.writer, 0u);
  EXPECT_FALSE(stats.failed);
  // Right after the next restart, the log in use holds only the commit that found it. (The
  // file keeps its largest size, which depends on the machine, so it is not checked: while a
  // pass waits on a slow fsync, the writer's own checkpoint finds the checkpoint lock taken
  // and the WAL grows, by design, rather than stall the writer. With other tests' servers
  // flushing beside this one, 2,000 commits once went by before the first restart.)
  const int after = WriteUntilRestarts(**db, rows, stats.restarts + 1);
  EXPECT_GT((*db)->writer_stats().checkpoints.restarts, stats.restarts);
  {
    auto c = Connection::Open(dir.File("a.db"), Connection::Mode::kReadWrite, 5000);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto st = (*c)->Prepare("PRAGMA wal_checkpoint(PASSIVE)");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    auto row = st->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_LT(st->Int(1), kSmall.step_pages) << "frames in the log right after a restart";
  }
  const std::string text = registry.Render();
  EXPECT_EQ(text.find("inferline_store_wal_restarts_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("inferline_store_wal_restarts_total"), std::string::npos) << text;
  EXPECT_EQ(CountRows(**db), after);
}

// A read transaction pins its snapshot: no checkpoint can copy past it, so the WAL grows, and
// the writer's incomplete checkpoints do not count. Once the read ends, the WAL starts over.
TEST(WalCheckpointer, ALongReadHoldsTheWalUntilItEnds) {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open({.path = dir.File("a.db"), .checkpoint = kSmall});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(InsertRow(**db, 0).ok());
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
  const CheckpointStats before = (*db)->writer_stats().checkpoints;
  WriteRows(**db, 1, 600);  // about 1,500 pages, well past 4 * restart_pages
  const CheckpointStats during = (*db)->writer_stats().checkpoints;
  EXPECT_EQ(during.writer, before.writer);
  // (A reader whose snapshot was copied whole reads the database file only: the WAL may start
  // over once, and then nothing more can be copied while the read lasts.)
  EXPECT_GT(std::filesystem::file_size(dir.File("a.db-wal")), 1000u * (4096 + 24));
  release = true;
  reader.join();
  const int rows = WriteUntilRestarts(**db, 601, before.restarts + 1);
  EXPECT_GT((*db)->writer_stats().checkpoints.restarts, before.restarts);
  EXPECT_EQ(CountRows(**db), rows);
}

// kill -9 at any moment of a run that checkpoints and starts the WAL over many times: every
// acknowledged row is there, and the database is sound.
TEST(WalCheckpointer, AcknowledgedRowsSurviveKill9) {
  testing::TempDir dir;
  const std::string path = dir.File("crash.db");
  std::shared_ptr<SqliteDatabase> child_db;  // the child's
  const int acked = testing::KillAfterAcks(1500, [&]() -> testing::AckedWrite {
    auto db = SqliteDatabase::Open({.path = path, .checkpoint = kSmall});
    if (!db.ok()) return nullptr;
    child_db = *db;
    return [&](int i) { return InsertRow(*child_db, i).ok(); };
  });
  ASSERT_GE(acked, 1500);
  auto db = SqliteDatabase::Open({.path = path, .checkpoint = kSmall});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_GE(CountRows(**db), acked + 1);
  EXPECT_EQ(IntegrityCheck(**db), "ok");
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
  EXPECT_FALSE(std::filesystem::exists(dir.File("a.db"))) << "refused before creating the file";
}

}  // namespace
}  // namespace inferline::store
