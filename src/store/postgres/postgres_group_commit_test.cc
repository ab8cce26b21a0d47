// Group commit under concurrency: many threads finalizing at once share transactions, every
// request changes state exactly once, and its usage is recorded exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "store/postgres/postgres_store.h"
#include "store/postgres/postgres_test_env.h"
#include "store/store_contract_test.h"

namespace inferline::store {
namespace {

constexpr int kThreads = 64;

TEST(PostgresGroupCommit, ConcurrentFinalizesAreRecordedExactlyOnce) {
  constexpr int kRequests = 1280;  // 20 per thread
  std::string url = pgtest::FreshDatabase();
  auto opened = PostgresStore::Open(pgtest::Options(url));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& s = **opened;

  std::atomic<int> create_errors{0};
  auto in_threads = [](auto&& body) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
    for (auto& th : threads) th.join();
  };
  in_threads([&](int t) {
    for (int i = t; i < kRequests; i += kThreads) {
      if (!s.CreateRequest(contract::MakeRecord("r" + std::to_string(i), "u", i), std::nullopt)
               .ok()) {
        ++create_errors;
      }
    }
  });
  ASSERT_EQ(create_errors.load(), 0);

  // Every request is finalized by two different threads at about the same time, as when a
  // result is redelivered to a second collector: exactly one call makes the transition.
  PgWriterStats before = s.writer_stats();
  std::vector<std::atomic<int>> transitions(kRequests);
  std::atomic<int> errors{0};
  in_threads([&](int t) {
    for (int i = t / 2; i < kRequests; i += kThreads / 2) {
      auto r = s.FinalizeRequest("r" + std::to_string(i),
                                 contract::Completed(i % 7, 1 + t % 2, 1'000'000 + i));
      if (!r.ok()) {
        ++errors;
      } else if (*r) {
        ++transitions[i];
      }
    }
  });
  PgWriterStats after = s.writer_stats();
  EXPECT_EQ(errors.load(), 0);
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(transitions[i].load(), 1) << "request r" << i;
  EXPECT_EQ(after.operations - before.operations, 2u * kRequests);
  // Group commit happened: fewer transactions than writes.
  EXPECT_LT(after.transactions - before.transactions, after.operations - before.operations);

  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM usage_ledger"), kRequests);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM requests WHERE status = 'completed'"),
            kRequests);
  // The ledger row matches the winning call's usage (prompt i % 7 is the same for both).
  int64_t expected_prompt = 0;
  for (int i = 0; i < kRequests; ++i) expected_prompt += i % 7;
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT sum(prompt_tokens) FROM usage_ledger"), expected_prompt);
  EXPECT_EQ(pgtest::QueryInt(url,
                             "SELECT count(*) FROM usage_ledger u JOIN requests r ON "
                             "r.id = u.request_id WHERE u.completion_tokens <> "
                             "r.usage_completion_tokens"),
            0);
}

// FlushWrites returns once every write submitted before it committed and its callback ran.
TEST(PostgresGroupCommit, FlushWaitsForAsynchronousWrites) {
  std::string url = pgtest::FreshDatabase();
  auto opened = PostgresStore::Open(pgtest::Options(url));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& s = **opened;
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    s.CreateRequestAsync(contract::MakeRecord("f" + std::to_string(i), "u", i), std::nullopt,
                         [&](Status st) {
                           if (st.ok()) ++done;
                         });
  }
  s.FlushWrites();
  EXPECT_EQ(done.load(), 200);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM requests"), 200);
}

// A write that PostgreSQL rejects fails alone: the writes batched with it still commit.
TEST(PostgresGroupCommit, AFailingWriteDoesNotTakeItsBatchDown) {
  std::string url = pgtest::FreshDatabase();
  auto opened = PostgresStore::Open(pgtest::Options(url));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& s = **opened;
  std::vector<StatusCode> codes(kThreads * 10);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kThreads * 10; i += kThreads) {
        RequestRecord r = contract::MakeRecord("r" + std::to_string(i), "u", i);
        if (i % 5 == 0) r.input_json = "\xc3\x28";  // not UTF-8: the server refuses it
        codes[i] = s.CreateRequest(r, std::nullopt).code();
      }
    });
  }
  for (auto& th : threads) th.join();
  int bad = 0;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (i % 5 == 0) {
      EXPECT_EQ(codes[i], StatusCode::kInvalidArgument) << i;
      ++bad;
    } else {
      EXPECT_EQ(codes[i], StatusCode::kOk) << i;
    }
  }
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM requests"),
            static_cast<int64_t>(codes.size()) - bad);
}

OutboxMessage MessageFor(const std::string& id) {
  // Quotes and backslashes in the payload: the many-row insert passes it inside an array.
  std::string payload = "{\"request_id\":\"" + id + "\",\"q\":\"a\\\\\\\"b\"}";
  return OutboxMessage{"inference_requests.tiny", payload,
                       {.message_id = id, .model = "tiny", .tokens = 5, .priority = 1}};
}

// Admissions queued together run as one many-row insert (PgWrite::merged): every record and
// its outbox row commit, each outbox id reported to the relay is that request's row, and a
// request id submitted twice in one batch is created once, with one outbox row.
TEST(PostgresGroupCommit, AdmissionsInOneBatchShareOneInsert) {
  std::string url = pgtest::FreshDatabase();
  auto opened = PostgresStore::Open(pgtest::Options(url));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& s = **opened;
  std::mutex mu;
  std::map<int64_t, std::string> committed;  // outbox id -> message id, as reported
  s.SetOutboxCommitted([&](PostgresStore::CommittedOutbox c) {
    std::lock_guard lock(mu);
    committed[c.id] = c.message.meta.message_id;
  });
  constexpr int kRequests = 400;
  std::vector<StatusCode> codes(kRequests + 1, StatusCode::kInternal);
  std::atomic<int> done{0};
  for (int i = 0; i <= kRequests; ++i) {
    // The last one repeats request 200's id, queued behind it.
    std::string id = "m" + std::to_string(i == kRequests ? 200 : i);
    s.CreateRequestAsync(contract::MakeRecord(id, "u", i), MessageFor(id), [&, i](Status st) {
      codes[i] = st.code();
      ++done;
    });
  }
  s.FlushWrites();
  ASSERT_EQ(done.load(), kRequests + 1);
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(codes[i], StatusCode::kOk) << i;
  EXPECT_EQ(codes[kRequests], StatusCode::kAlreadyExists);
  EXPECT_GT(s.writer_stats().merged_statements, 0u);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM requests"), kRequests);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), kRequests);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(DISTINCT message_id) FROM outbox"), kRequests);
  // The payload survived the array's quoting byte for byte.
  EXPECT_EQ(pgtest::QueryInt(url,
                             "SELECT count(*) FROM outbox WHERE payload = "
                             "'{\"request_id\":\"' || message_id || '\",\"q\":\"a\\\\\\\"b\"}'"),
            kRequests);
  // Every id handed to the relay is the row of the request it was reported for.
  ASSERT_EQ(committed.size(), static_cast<size_t>(kRequests));
  for (const auto& [id, message_id] : committed) {
    ASSERT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox WHERE id = " +
                                        std::to_string(id) + " AND message_id = '" +
                                        message_id + "'"),
              1)
        << id << " " << message_id;
  }
  // Records match what was submitted (a column out of place would show here).
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM requests r JOIN outbox o ON "
                                  "o.message_id = r.id WHERE o.created_at = r.created_at "
                                  "AND r.status = 'queued' AND o.tokens = 5"),
            kRequests);
}

// A write PostgreSQL refuses inside a merged insert fails alone: its batch runs again write by
// write, and the others commit with their outbox rows.
TEST(PostgresGroupCommit, ABadRowInAMergedInsertFailsAlone) {
  std::string url = pgtest::FreshDatabase();
  auto opened = PostgresStore::Open(pgtest::Options(url));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  PostgresStore& s = **opened;
  constexpr int kRequests = 200;
  std::vector<StatusCode> codes(kRequests, StatusCode::kInternal);
  for (int i = 0; i < kRequests; ++i) {
    std::string id = "b" + std::to_string(i);
    OutboxMessage m = MessageFor(id);
    if (i % 10 == 3) m.payload = "\xff\xfe";  // not UTF-8: the server refuses it
    s.CreateRequestAsync(contract::MakeRecord(id, "u", i), m,
                         [&, i](Status st) { codes[i] = st.code(); });
  }
  s.FlushWrites();
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(codes[i], i % 10 == 3 ? StatusCode::kInvalidArgument : StatusCode::kOk) << i;
  }
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM requests"), kRequests - kRequests / 10);
  EXPECT_EQ(pgtest::QueryInt(url, "SELECT count(*) FROM outbox"), kRequests - kRequests / 10);
}

TEST(PgTextArray, QuotesEveryValueAndEscapesQuotesAndBackslashes) {
  std::optional<std::string> a = "plain", b = "say \"hi\"", c = "back\\slash", d = "",
                             e = std::nullopt, f = "{,}";
  EXPECT_EQ(PgTextArray({&a, &b, &c, &d, &e, &f}),
            "{\"plain\",\"say \\\"hi\\\"\",\"back\\\\slash\",\"\",NULL,\"{,}\"}");
  EXPECT_EQ(PgTextArray({}), "{}");
}

}  // namespace
}  // namespace inferline::store
