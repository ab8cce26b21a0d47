#include "queue/sqlite/sqlite_broker.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queue/broker_contract_test.h"
#include "store/sqlite/queue_table.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/testing/temp_dir.h"
#include "store/sqlite/testing/writer_hold.h"

namespace inferline::queue {
namespace {

class SqliteEnv {
 public:
  static constexpr bool kDurable = true;
  SqliteEnv() { Restart(); }
  std::shared_ptr<Broker> broker() { return broker_; }
  std::shared_ptr<store::SqliteDatabase> db() { return db_; }
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }
  void Restart() {
    broker_.reset();
    db_.reset();
    auto db = store::SqliteDatabase::Open({.path = dir_.File("queue.db")});
    if (!db.ok()) {
      ADD_FAILURE() << db.status().ToString();
      std::abort();
    }
    db_ = *db;
    broker_ = std::make_shared<SqliteBroker>(
        db_, SqliteBrokerOptions{.max_deliveries = 3, .now = [this] { return Now(); }});
  }

 private:
  std::chrono::system_clock::time_point Now() const {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  store::testing::TempDir dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::shared_ptr<store::SqliteDatabase> db_;
  std::shared_ptr<SqliteBroker> broker_;
};

}  // namespace

namespace contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, BrokerContractTest, ::testing::Types<SqliteEnv>);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, BrokerLeaseContractTest, ::testing::Types<SqliteEnv>);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, BrokerOrderingContractTest, ::testing::Types<SqliteEnv>);
}  // namespace contract

namespace {

using contract::Take;
using contract::kQ;

store::RequestRecord Record(const std::string& id) {
  store::RequestRecord r;
  r.id = id;
  r.user_id = "u";
  r.key_id = "k";
  r.model = "tiny";
  r.input_json = "\"hi\"";
  r.prompt_tokens = 1;
  r.reserved_tokens = 17;
  r.created_at = store::FromMillis(1);
  return r;
}

TEST(SqliteBroker, QueuedWorkSurvivesARestart) {
  SqliteEnv env;
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(env.broker()->Publish(kQ, p, {}).ok());
  auto got = env.broker()->Consume(kQ, Take(1));
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(env.broker()->Ack((*got)[0]).ok());
  env.Restart();
  auto rest = env.broker()->Consume(kQ, Take(10));
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].payload, "b");
  EXPECT_EQ((*rest)[1].payload, "c");
}

// The gateway's accept step: the record and its message commit together, and a consumer
// blocked on the queue wakes up for it.
TEST(SqliteBroker, RequestRecordedWithItsMessageReachesABlockedConsumer) {
  SqliteEnv env;
  store::SqliteStore store(env.db());
  std::vector<Delivery> got;
  std::thread consumer([&] {
    ConsumeOptions o = Take(1);
    o.wait = std::chrono::minutes(2);
    auto r = env.broker()->Consume(kQ, o);
    if (r.ok()) got = *r;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  store::OutboxMessage m{std::string(kQ), R"({"request_id":"r1"})",
                         {.message_id = "r1", .model = "tiny", .tokens = 17}};
  ASSERT_TRUE(store.CreateRequest(Record("r1"), m).ok());
  consumer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, R"({"request_id":"r1"})");
  EXPECT_EQ(got[0].meta.message_id, "r1");
  EXPECT_EQ(got[0].meta.tokens, 17);
  EXPECT_EQ(store.GetRequest("r1")->status, store::RequestStatus::kQueued);
  EXPECT_EQ(*env.broker()->BacklogTokens(kQ), 17);
  // The id is kept in record_id, outside the deduplication index (migration 0005): the record's
  // primary key already makes it unique.
  auto columns = env.db()->Read([](store::Connection& c) -> Result<std::string> {
    ASSIGN_OR_RETURN(store::Statement st, c.Prepare(
        "SELECT COALESCE(message_id, 'null') || '/' || record_id FROM queue_messages"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound("no message");
    return st.Text(0);
  });
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_EQ(*columns, "null/r1");
}

// Inserted messages reach queue_counts once per transaction (WriteTx::CountInserted): a batch
// of several publishes, one of them a duplicate id and one in an operation that fails (the batch
// then runs again, each operation in a savepoint) counts exactly the messages it kept.
TEST(SqliteBroker, StatsCountEachBatchsInsertsOnce) {
  SqliteEnv env;
  store::SqliteDatabase& db = *env.db();
  auto insert = [&](std::string id, int64_t tokens, bool then_fail) {
    return [&db, id, tokens, then_fail](store::WriteTx& tx) -> Status {
      RETURN_IF_ERROR(store::InsertQueueMessage(tx, db.queue_signals(), kQ, "payload",
                                                {.message_id = id, .tokens = tokens}, 0, 0));
      if (then_fail) return InvalidArgument("this operation fails after its insert");
      return Status::Ok();
    };
  };
  std::atomic<int> done{0};
  std::vector<Status> results(5);
  {
    store::testing::WriterHold hold(db);
    const std::vector<std::tuple<std::string, int64_t, bool>> ops = {
        {"a", 10, false}, {"b", 20, false}, {"a", 40, false}, {"c", 80, true}, {"d", 160, false}};
    for (size_t i = 0; i < ops.size(); ++i) {
      auto [id, tokens, fail] = ops[i];
      db.WriteAsync(insert(id, tokens, fail), [&results, &done, i](const Status& st) {
        results[i] = st;
        ++done;
      });
    }
  }
  for (int i = 0; i < 5000 && done < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(done, 5);
  EXPECT_TRUE(results[0].ok() && results[1].ok() && results[2].ok() && results[4].ok());
  EXPECT_FALSE(results[3].ok());
  EXPECT_EQ(db.writer_stats().retried_batches, 1u);
  Result<QueueStats> stats = env.broker()->Stats(kQ);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->ready, 3) << "a, b and d; the second a was a duplicate, c was rolled back";
  EXPECT_EQ(stats->backlog_tokens, 10 + 20 + 160);
}

// A message inserted and then leased, or deleted, in the same transaction: the triggers
// subtract before the batch adds its inserts, from rows that do not exist yet on a new queue.
TEST(SqliteBroker, StatsStayExactWhenAMessageChangesInItsInsertsBatch) {
  SqliteEnv env;
  store::SqliteDatabase& db = *env.db();
  auto insert_then = [&db](std::string id, int64_t tokens, std::string then) {
    return [&db, id, tokens, then](store::WriteTx& tx) -> Status {
      RETURN_IF_ERROR(store::InsertQueueMessage(tx, db.queue_signals(), kQ, "payload",
                                                {.message_id = id, .tokens = tokens}, 0, 0));
      return tx.conn().Exec(then);
    };
  };
  std::atomic<int> done{0};
  {
    store::testing::WriterHold hold(db);
    db.WriteAsync(insert_then("leased", 5, "UPDATE queue_messages SET state = 1 "
                                           "WHERE message_id = 'leased'"),
                  [&](const Status& st) { EXPECT_TRUE(st.ok()) << st.ToString(); ++done; });
    db.WriteAsync(insert_then("gone", 7, "DELETE FROM queue_messages WHERE message_id = 'gone'"),
                  [&](const Status& st) { EXPECT_TRUE(st.ok()) << st.ToString(); ++done; });
    db.WriteAsync(insert_then("ready", 11, "SELECT 1"),
                  [&](const Status& st) { EXPECT_TRUE(st.ok()) << st.ToString(); ++done; });
  }
  for (int i = 0; i < 5000 && done < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(done, 3);
  Result<QueueStats> stats = env.broker()->Stats(kQ);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->ready, 1);
  EXPECT_EQ(stats->leased, 1);
  EXPECT_EQ(stats->backlog_tokens, 5 + 11);
  // Later changes keep them exact.
  auto leased = env.broker()->Consume(kQ, Take(5, std::chrono::hours(1)));
  ASSERT_TRUE(leased.ok() && leased->size() == 1u);
  ASSERT_TRUE(env.broker()->Ack((*leased)[0]).ok());
  stats = env.broker()->Stats(kQ);
  EXPECT_EQ(stats->ready, 0);
  EXPECT_EQ(stats->leased, 1);
  EXPECT_EQ(stats->backlog_tokens, 5);
}

// Stats reads counters that the writer and triggers keep (migrations 0002, 0003); they must
// equal a scan of the
// messages after every kind of change.
TEST(SqliteBroker, StatsCountersMatchAScanAfterEveryKindOfChange) {
  SqliteEnv env;
  Broker& b = *env.broker();
  auto scan = [&](bool dead_letters) {
    return env.db()->Read([&](store::Connection& c) -> Result<QueueStats> {
      ASSIGN_OR_RETURN(store::Statement st, c.Prepare(
          "SELECT state, dead, COUNT(*), SUM(tokens) FROM queue_messages WHERE queue = ?1 "
          "GROUP BY state, dead"));
      st.Bind(1, std::string(kQ));
      QueueStats s;
      while (true) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        if (st.Int(1) != 0) {
          s.dead += st.Int(2);
        } else if (st.Int(0) == store::kQueueReady) {
          s.ready += st.Int(2);
          s.backlog_tokens += st.Int(3);
        } else if (st.Int(0) == store::kQueueLeased) {
          s.leased += st.Int(2);
          s.backlog_tokens += st.Int(3);
        }
      }
      if (dead_letters) return QueueStats{.ready = s.dead, .dead = s.dead};
      return s;
    });
  };
  auto check = [&](const char* step) {
    SCOPED_TRACE(step);
    for (bool dlq : {false, true}) {
      Result<QueueStats> got =
          env.broker()->Stats(dlq ? DeadLetterQueueName(kQ) : std::string(kQ));
      Result<QueueStats> want = scan(dlq);
      ASSERT_TRUE(got.ok() && want.ok());
      EXPECT_EQ(got->ready, want->ready);
      EXPECT_EQ(got->leased, want->leased);
      EXPECT_EQ(got->dead, want->dead);
      EXPECT_EQ(got->backlog_tokens, want->backlog_tokens);
    }
  };
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(b.Publish(kQ, std::to_string(i), {.tokens = 10 + i}).ok());
  }
  check("published");
  EXPECT_EQ(b.Stats(kQ)->ready, 30);
  auto leased = b.Consume(kQ, Take(12, std::chrono::hours(1)));
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 12u);
  check("leased");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.Ack((*leased)[i]).ok());
  check("acked");
  for (int i = 3; i < 5; ++i) ASSERT_TRUE(b.Nack((*leased)[i], true).ok());
  check("requeued");
  for (int i = 5; i < 7; ++i) ASSERT_TRUE(b.Nack((*leased)[i], false).ok());
  check("dead-lettered");
  EXPECT_EQ(b.Stats(DeadLetterQueueName(kQ))->ready, 2);
  ASSERT_TRUE(b.ExtendLease((*leased)[7], std::chrono::hours(2)).ok());
  ASSERT_TRUE(env.db()->Write([](store::WriteTx& tx) {
    return tx.conn().Exec("UPDATE queue_messages SET tokens = tokens + 1 WHERE state = 0");
  }).ok());
  check("tokens changed");
  ASSERT_TRUE(b.ReleaseAllLeases().ok());
  check("leases released");
  env.Restart();  // the counters are in the file, not in memory
  check("reopened");
}

// kill -9 with work queued and leased: after restart and ReleaseAllLeases every accepted
// message is delivered again.
TEST(SqliteBroker, Kill9KeepsQueuedAndLeasedMessages) {
  store::testing::TempDir dir;
  std::string path = dir.File("crash.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto db = store::SqliteDatabase::Open({.path = path});
    if (!db.ok()) ::_exit(2);
    SqliteBroker b(*db);
    for (int i = 0; i < 20; ++i) {
      if (!b.Publish(kQ, std::to_string(i), {}).ok()) ::_exit(3);
    }
    auto leased = b.Consume(kQ, Take(5, std::chrono::hours(1)));  // "running" when killed
    if (!leased.ok() || leased->size() != 5) ::_exit(4);
    char ok = 1;
    if (::write(fds[1], &ok, 1) != 1) ::_exit(5);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  char ok = 0;
  ASSERT_EQ(::read(fds[0], &ok, 1), 1);
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto db = store::SqliteDatabase::Open({.path = path});
  ASSERT_TRUE(db.ok());
  SqliteBroker b(*db);
  EXPECT_EQ(b.Stats(kQ)->leased, 5);
  ASSERT_TRUE(b.ReleaseAllLeases().ok());
  auto all = b.Consume(kQ, Take(100));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 20u);
  int redelivered = 0;
  for (const Delivery& d : *all) redelivered += d.delivery_count == 2;
  EXPECT_EQ(redelivered, 5);
}

}  // namespace
}  // namespace inferline::queue
