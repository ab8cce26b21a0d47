#include "store/postgres/postgres_migrations.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/postgres/postgres_test_env.h"

namespace inferline::store {
namespace {

TEST(PostgresMigrations, ConcurrentRunsApplyEachVersionOnce) {
  std::string url = pgtest::FreshDatabase(/*migrate=*/false);
  int latest = LatestPostgresSchemaVersion();
  ASSERT_GE(latest, 1);
  constexpr int kRuns = 4;  // as if several pods started at once
  std::vector<Result<int>> results(kRuns, Result<int>(Internal("not run")));
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] { results[i] = RunPostgresMigrations(pgtest::Options(url)); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, latest);
  }
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(pg_schema::EmbeddedMigrationFiles().size()));
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(DISTINCT version) FROM schema_migrations"),
            static_cast<int64_t>(pg_schema::EmbeddedMigrationFiles().size()));
  EXPECT_EQ(pgtest::QueryInt(url,
                             "SELECT count(*) FROM pg_tables WHERE tablename IN "
                             "('users', 'api_keys', 'requests', 'usage_ledger', 'outbox')"),
            5);

  // Running again changes nothing.
  auto again = RunPostgresMigrations(pgtest::Options(url));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, latest);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(pg_schema::EmbeddedMigrationFiles().size()));
}

TEST(PostgresMigrations, RefusesASchemaNewerThanTheBinary) {
  std::string url = pgtest::FreshDatabase();
  EXPECT_EQ(pgtest::QueryInt(url,
                             "INSERT INTO schema_migrations VALUES (9999, 'future', 0) "
                             "RETURNING version"),
            9999);
  auto r = RunPostgresMigrations(pgtest::Options(url));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("9999"), std::string::npos);
}

TEST(PostgresMigrations, EmbeddedFilesAreNumberedInOrder) {
  const auto& files = pg_schema::EmbeddedMigrationFiles();
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front().name.substr(0, 5), "0001_");
  for (size_t i = 1; i < files.size(); ++i) EXPECT_LT(files[i - 1].name, files[i].name);
}

}  // namespace
}  // namespace inferline::store
