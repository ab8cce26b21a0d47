#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>

#include <future>

#include "store/sqlite/testing/temp_dir.h"
#include "store/store_contract_test.h"

namespace inferline::store {
namespace {

class SqliteEnv {
 public:
  SqliteEnv() { Restart(); }
  std::shared_ptr<Store> store() { return store_; }
  std::shared_ptr<SqliteDatabase> db() { return store_->database(); }
  void Restart() {
    store_.reset();
    auto db = SqliteDatabase::Open({.path = dir_.File("store.db")});
    if (!db.ok()) {
      ADD_FAILURE() << db.status().ToString();
      std::abort();
    }
    store_ = std::make_shared<SqliteStore>(*db);
  }

 private:
  testing::TempDir dir_;
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreContractTest, ::testing::Types<SqliteEnv>);
}  // namespace contract

namespace {

int64_t QueueRows(SqliteDatabase& db) {
  auto n = db.Read([](Connection& c) -> Result<int64_t> {
    ASSIGN_OR_RETURN(Statement st, c.Prepare("SELECT COUNT(*) FROM queue_messages"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    return row ? st.Int(0) : -1;
  });
  return n.ok() ? *n : -1;
}

TEST(SqliteStore, RecordAndOutboxMessageCommitTogetherOrNotAtAll) {
  SqliteEnv env;
  Store& s = *env.store();
  OutboxMessage m{"inference_requests.tiny", R"({"request_id":"r1"})",
                  {.message_id = "r1", .model = "tiny", .tokens = 21}};
  ASSERT_TRUE(s.CreateRequest(contract::MakeRecord("r1", "u", 1), m).ok());
  EXPECT_EQ(QueueRows(*env.db()), 1);

  // A bad message fails the whole step: no record either.
  OutboxMessage bad = m;
  bad.queue = "bad queue name!";
  EXPECT_EQ(s.CreateRequest(contract::MakeRecord("r2", "u", 2), bad).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s.GetRequest("r2").status().code(), StatusCode::kNotFound);
  // A duplicate record fails the whole step: no second message.
  EXPECT_EQ(s.CreateRequest(contract::MakeRecord("r1", "u", 3), m).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(QueueRows(*env.db()), 1);
}

// The asynchronous form (admission on an HTTP I/O thread): the same atomic step, the outcome
// delivered to the callback after the commit.
TEST(SqliteStore, CreateRequestAsyncCommitsBeforeItCallsBack) {
  SqliteEnv env;
  Store& s = *env.store();
  EXPECT_TRUE(s.CreatesWithoutBlocking());
  auto create = [&](RequestRecord r, std::optional<OutboxMessage> m) {
    std::promise<Status> done;
    s.CreateRequestAsync(std::move(r), std::move(m),
                         [&](Status st) { done.set_value(std::move(st)); });
    return done.get_future().get();
  };
  OutboxMessage m{"inference_requests.tiny", R"({"request_id":"a1"})",
                  {.message_id = "a1", .model = "tiny", .tokens = 5}};
  ASSERT_TRUE(create(contract::MakeRecord("a1", "u", 1), m).ok());
  EXPECT_TRUE(s.GetRequest("a1").ok());  // visible to a reader once called back
  EXPECT_EQ(QueueRows(*env.db()), 1);
  EXPECT_EQ(create(contract::MakeRecord("a1", "u", 2), m).code(), StatusCode::kAlreadyExists);
  RequestRecord invalid = contract::MakeRecord("a2", "u", 3);
  invalid.status = RequestStatus::kRunning;
  EXPECT_EQ(create(invalid, std::nullopt).code(), StatusCode::kInvalidArgument);
  OutboxMessage bad = m;
  bad.queue = "bad queue name!";
  EXPECT_EQ(create(contract::MakeRecord("a3", "u", 4), bad).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s.GetRequest("a3").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(QueueRows(*env.db()), 1);
}

// requests_by_user is ascending since migration 0005 (appends at the end of a user's range);
// listing newest first, with or without a cursor, must still read it backwards, not sort.
TEST(SqliteStore, ListingNewestFirstReadsTheUserIndexWithoutASort) {
  SqliteEnv env;
  for (const char* cursor : {"", " AND (created_at < ?3 OR (created_at = ?3 AND id < ?4))"}) {
    std::string sql = std::string("EXPLAIN QUERY PLAN SELECT * FROM requests WHERE user_id = ?1") +
                      cursor + " ORDER BY created_at DESC, id DESC LIMIT ?2";
    auto plan = env.db()->Read([&](Connection& c) -> Result<std::string> {
      ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
      std::string out;
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) return out;
        out += st.Text(3) + "\n";
      }
    });
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_NE(plan->find("USING INDEX requests_by_user"), std::string::npos) << *plan;
    EXPECT_EQ(plan->find("TEMP B-TREE"), std::string::npos) << *plan;
  }
}

TEST(SqliteStore, RejectsInvalidRecords) {
  SqliteEnv env;
  Store& s = *env.store();
  RequestRecord r = contract::MakeRecord("", "u", 1);
  EXPECT_EQ(s.CreateRequest(r, std::nullopt).code(), StatusCode::kInvalidArgument);
  r = contract::MakeRecord("x", "u", 1);
  r.status = RequestStatus::kRunning;
  EXPECT_EQ(s.CreateRequest(r, std::nullopt).code(), StatusCode::kInvalidArgument);
  r = contract::MakeRecord("x", "u", 1);
  r.reserved_tokens = -1;
  EXPECT_EQ(s.CreateRequest(r, std::nullopt).code(), StatusCode::kInvalidArgument);
}

TEST(SqliteStore, TouchApiKeyLandsBeforeLaterWrites) {
  SqliteEnv env;
  Store& s = *env.store();
  ApiKey k{.id = "k", .user_id = "u", .name = "n", .secret_hash = std::string(64, 'c'),
           .prefix = "il-c"};
  ASSERT_TRUE(s.CreateApiKey(k).ok());
  ASSERT_TRUE(s.TouchApiKey("k", contract::T(77)).ok());
  // Writes commit in submission order, so once a later write returns the touch is visible.
  ASSERT_TRUE(s.CreateUser(User{"u", "free", "{}", {}}).ok());
  EXPECT_EQ(s.GetApiKey("k")->last_used_at, contract::T(77));
}

}  // namespace
}  // namespace inferline::store
