#include "store/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/postgres/postgres_test_env.h"
#include "store/store_contract_test.h"

namespace inferline::store {
namespace {

class PgEnv {
 public:
  PgEnv() : url_(pgtest::FreshDatabase()) { Restart(); }
  std::shared_ptr<Store> store() { return store_; }
  void Restart() {
    store_.reset();
    auto s = PostgresStore::Open(pgtest::Options(url_));
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString();
      std::abort();
    }
    store_ = std::move(*s);
  }

 private:
  std::string url_;
  std::shared_ptr<Store> store_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreContractTest, ::testing::Types<PgEnv>);
}  // namespace contract

namespace {

std::unique_ptr<PostgresStore> OpenStore(const std::string& url) {
  auto s = PostgresStore::Open(pgtest::Options(url));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(PostgresStore, RecordAndOutboxRowCommitTogetherOrNotAtAll) {
  std::string url = pgtest::FreshDatabase();
  auto s = OpenStore(url);
  ASSERT_TRUE(s);
  OutboxMessage m{"inference_requests.tiny",
                  R"({"request_id":"r1"})",
                  {.message_id = "r1", .model = "tiny", .tokens = 21, .priority = 2}};
  ASSERT_TRUE(s->CreateRequest(contract::MakeRecord("r1", "u", 1), m).ok());
  EXPECT_EQ(pgtest::QueryInt(url,
                             "SELECT count(*) FROM outbox WHERE queue = "
                             "'inference_requests.tiny' AND message_id = 'r1' AND "
                             "tokens = 21 AND priority = 2 AND model = 'tiny'"),
            1);

  // A bad message fails the whole step: no record either.
  OutboxMessage bad = m;
  bad.queue = "bad queue name!";
  EXPECT_EQ(s->CreateRequest(contract::MakeRecord("r2", "u", 2), bad).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->GetRequest("r2").status().code(), StatusCode::kNotFound);
  // Bytes PostgreSQL refuses (not UTF-8) fail the whole step too.
  OutboxMessage not_utf8 = m;
  not_utf8.payload = "\xff\xfe";
  EXPECT_EQ(s->CreateRequest(contract::MakeRecord("r3", "u", 3), not_utf8).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s->GetRequest("r3").status().code(), StatusCode::kNotFound);
  // A duplicate record fails the whole step: no second message.
  EXPECT_EQ(s->CreateRequest(contract::MakeRecord("r1", "u", 3), m).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), 1);
}

TEST(PostgresStore, RejectsInvalidRecords) {
  auto s = OpenStore(pgtest::FreshDatabase());
  ASSERT_TRUE(s);
  RequestRecord r = contract::MakeRecord("", "u", 1);
  EXPECT_EQ(s->CreateRequest(r, std::nullopt).code(), StatusCode::kInvalidArgument);
  r = contract::MakeRecord("x", "u", 1);
  r.status = RequestStatus::kRunning;
  EXPECT_EQ(s->CreateRequest(r, std::nullopt).code(), StatusCode::kInvalidArgument);
  r = contract::MakeRecord("x", "u", 1);
  r.reserved_tokens = -1;
  EXPECT_EQ(s->CreateRequest(r, std::nullopt).code(), StatusCode::kInvalidArgument);
}

TEST(PostgresStore, TouchApiKeyIsRecordedAsynchronously) {
  auto s = OpenStore(pgtest::FreshDatabase());
  ASSERT_TRUE(s);
  ApiKey k{.id = "k",
           .user_id = "u",
           .name = "n",
           .secret_hash = std::string(64, 'c'),
           .prefix = "il-c"};
  ASSERT_TRUE(s->CreateApiKey(k).ok());
  ASSERT_TRUE(s->TouchApiKey("k", contract::T(77)).ok());
  std::optional<Time> seen;
  for (int i = 0; i < 500 && !seen; ++i) {
    seen = s->GetApiKey("k")->last_used_at;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(seen, contract::T(77));
}

TEST(PostgresStore, OpenRefusesADatabaseThatWasNotMigrated) {
  auto s = PostgresStore::Open(pgtest::Options(pgtest::FreshDatabase(/*migrate=*/false)));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("inferline migrate"), std::string::npos);
}

TEST(PostgresStore, MalformedUrlIsInvalidArgument) {
  auto s = PostgresStore::Open(pgtest::Options("postgresql://host:notaport:/x?bogus=1"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status().ToString();
}

TEST(PostgresStore, UnreachableServerIsUnavailableAndNamed) {
  // A port that was free a moment ago: nothing listens there.
  int port = pgtest::SharedServer().port() + 1;
  std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/x";
  for (int i = 0; i < 20 && PgConnection::Connect(pgtest::Options(url)).ok(); ++i) {
    url = "postgresql://postgres@127.0.0.1:" + std::to_string(++port) + "/x";
  }
  auto s = PostgresStore::Open(pgtest::Options(url));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << s.status().message();
}

TEST(PostgresStore, AnExhaustedPoolAnswersUnavailableAfterItsTimeout) {
  PostgresOptions o = pgtest::Options(pgtest::FreshDatabase());
  o.pool_size = 1;
  o.acquire_timeout = std::chrono::milliseconds(100);
  PgPool pool(o);
  auto held = pool.Acquire();
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  auto second = pool.Acquire();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

// A server that goes away: calls fail with Unavailable (naming it), never hang or crash; once
// it is back, the pool and the group-commit writers reconnect by themselves.
TEST(PostgresStore, ServerOutageIsUnavailableThenRecovers) {
  auto server = testing::PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto url = (*server)->CreateDatabase("outage");
  ASSERT_TRUE(url.ok());
  ASSERT_TRUE(RunPostgresMigrations(pgtest::Options(*url)).ok());
  auto s = OpenStore(*url);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateUser(User{"alice", "free", "{}", contract::T(1)}).ok());
  ASSERT_TRUE(s->CreateRequest(contract::MakeRecord("r1", "alice", 1), std::nullopt).ok());

  ASSERT_TRUE((*server)->Stop().ok());
  std::string where = "127.0.0.1:" + std::to_string((*server)->port());
  auto user = s->GetUser("alice");
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(user.status().message().find(where), std::string::npos) << user.status().message();
  Status create = s->CreateRequest(contract::MakeRecord("r2", "alice", 2), std::nullopt);
  EXPECT_EQ(create.code(), StatusCode::kUnavailable) << create.ToString();
  EXPECT_EQ(s->FinalizeRequest("r1", contract::Completed(1, 2, 3)).status().code(),
            StatusCode::kUnavailable);

  ASSERT_TRUE((*server)->Resume().ok());
  auto again = s->GetUser("alice");
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(s->CreateRequest(contract::MakeRecord("r2", "alice", 2), std::nullopt).ok());
  auto fin = s->FinalizeRequest("r1", contract::Completed(1, 2, 3));
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  EXPECT_TRUE(*fin);
  s.reset();  // before the server goes
}

// A restart that no call notices while it happens: every pooled and writer session is stale
// when work resumes. The server said goodbye on each (an error message, then EOF); the sessions
// must be found dead before they are used, so the first calls after the restart succeed too.
TEST(PostgresStore, SessionsIdleAcrossARestartAreReplacedBeforeUse) {
  auto server = testing::PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto url = (*server)->CreateDatabase("restart");
  ASSERT_TRUE(url.ok());
  ASSERT_TRUE(RunPostgresMigrations(pgtest::Options(*url)).ok());
  auto s = OpenStore(*url);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->CreateUser(User{"alice", "free", "{}", contract::T(1)}).ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(s->CreateRequest(contract::MakeRecord("r" + std::to_string(i), "alice", i + 1),
                                 std::nullopt)
                    .ok());
    ASSERT_TRUE(s->GetUser("alice").ok());
  }

  ASSERT_TRUE((*server)->Stop().ok());
  ASSERT_TRUE((*server)->Resume().ok());
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    auto user = s->GetUser("alice");
    EXPECT_TRUE(user.ok()) << user.status().ToString();
    auto running = s->MarkRunning("r" + std::to_string(i), "w1", contract::T(10));
    ASSERT_TRUE(running.ok()) << running.status().ToString();
    EXPECT_TRUE(*running);
  }
  s.reset();  // before the server goes
}

}  // namespace
}  // namespace inferline::store
