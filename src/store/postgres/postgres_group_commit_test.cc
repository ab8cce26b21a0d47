// Group commit under concurrency: many threads finalizing at once share transactions, every
// request changes state exactly once, and its usage is recorded exactly once.
#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace inferline::store
