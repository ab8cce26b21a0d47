// Distributed end to end (issue 6, acceptance 3): one gateway, two workers and one collector as
// separate processes; 500 async requests from many client threads. Every one completes exactly
// once in PostgreSQL (one completed record, one usage_ledger row with the record's usage, run
// by one of the two workers), and per user the ledger, the Redis counters and GET /v1/quota
// agree exactly with nothing left reserved.
#include <fmt/format.h>

#include <set>

#include "distributed_fixture.h"

namespace inferline::distributed {
namespace {

constexpr int kRequests = 500;
constexpr int kUsers = 5;
constexpr int kClientThreads = 50;

TEST_F(Distributed, FiveHundredRequestsCompleteExactlyOnceAndAccountingAgrees) {
  std::vector<std::string> keys;
  for (int u = 0; u < kUsers; ++u) {
    keys.push_back(CreateUserKey(cluster(), fmt::format("bulk{}", u)));
    ASSERT_FALSE(keys.back().empty());
  }
  auto start = std::chrono::steady_clock::now();
  Submitted s = Submit(
      port(), kRequests, kClientThreads,
      [](int i) {
        return fmt::format(
            R"({{"model":"kjv-small","prompt":"And the {} day","max_tokens":{}}})", i,
            2 + i % 4);
      },
      [&](int i) { return keys[i % kUsers]; });
  ASSERT_TRUE(s.refused.empty()) << s.refused.size() << " refused, e.g. " << s.refused.front();
  ASSERT_EQ(s.accepted.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(std::set<std::string>(s.accepted.begin(), s.accepted.end()).size(),
            static_cast<size_t>(kRequests))
      << "request ids are not unique";

  std::vector<std::string> open = WaitTerminal(cluster(), s.accepted);
  ASSERT_TRUE(open.empty()) << open.size() << " never finished, e.g. " << open.front() << "\n"
                            << cluster().Logs();
  auto done = std::chrono::steady_clock::now();
  const double accept_s = s.elapsed.count() / 1e3;
  const double total_s = std::chrono::duration<double>(done - start).count();
  std::printf("[ measure  ] %d async requests: accepted in %.2f s (%.0f/s), all completed in "
              "%.2f s (%.1f/s)\n",
              kRequests, accept_s, kRequests / accept_s, total_s, kRequests / total_s);

  std::map<std::string, int64_t> counts = StatusCounts(cluster(), s.accepted);
  EXPECT_EQ(counts["completed"], kRequests) << ::testing::PrintToString(counts);
  ExpectOneLedgerRowPerCompleted(cluster(), s.accepted);

  // Each ran to completion by a worker of this deployment, with usage recorded.
  auto r = cluster().Sql(fmt::format(
      "SELECT worker_id, count(*), min(attempts), sum(usage_completion_tokens) FROM requests "
      "WHERE id IN {} GROUP BY worker_id ORDER BY worker_id",
      SqlList(s.accepted)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> workers = {cluster().WorkerId(0), cluster().WorkerId(1)};
  int64_t runs = 0;
  for (int i = 0; i < r->rows(); ++i) {
    EXPECT_TRUE(workers.count(r->String(i, 0))) << "run by " << r->String(i, 0);
    EXPECT_GE(r->Int(i, 2), 1);
    EXPECT_GT(r->Int(i, 3), 0);
    runs += r->Int(i, 1);
    std::printf("[ measure  ] worker %s ran %lld requests\n", r->String(i, 0).c_str(),
                static_cast<long long>(r->Int(i, 1)));
  }
  EXPECT_EQ(runs, kRequests);

  Accounting a = ReadAccounting(cluster(), port(), "bulk0", keys[0]);
  std::printf("[ measure  ] bulk0: usage ledger %lld rows, %lld tokens; Redis day used %lld "
              "tokens, %lld requests; /v1/quota day used %lld tokens\n",
              static_cast<long long>(a.ledger_rows), static_cast<long long>(a.ledger_tokens),
              static_cast<long long>(a.redis_day_tokens_used),
              static_cast<long long>(a.redis_day_requests_used),
              static_cast<long long>(a.api_day_tokens_used));
  for (int u = 0; u < kUsers; ++u) {
    const std::string user = fmt::format("bulk{}", u);
    ExpectAccountingAgrees(cluster(), port(), user, keys[u], "after 500 requests");
    auto rows = cluster().Sql(
        fmt::format("SELECT count(*) FROM usage_ledger WHERE user_id = '{}'", user));
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(rows->Int(0, 0), kRequests / kUsers) << user;
  }
  // Nothing stays reserved anywhere, and the queues are drained.
  auto reservations = cluster().Redis({"SCARD", "quota:reservations"});
  ASSERT_TRUE(reservations.ok());
  EXPECT_EQ(reservations->integer, 0);
  auto broker = cluster().Broker();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  auto stats = (*broker)->Stats(queue::RequestQueueName(cluster().model()));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->ready, 0);
  auto outbox = cluster().Sql("SELECT count(*) FROM outbox");
  ASSERT_TRUE(outbox.ok());
  EXPECT_EQ(outbox->Int(0, 0), 0) << "the outbox relay left rows behind";
  (*broker)->Shutdown();
}

}  // namespace
}  // namespace inferline::distributed
