// Distributed fault (issue 6, acceptance 4): RabbitMQ restarted under load, first gracefully,
// then killed with SIGKILL and started again, while clients keep submitting. No accepted request
// is lost: every 202 ends `completed`, exactly once in the usage ledger and in Redis. (Requests
// are accepted into PostgreSQL with an outbox row, so the gateway keeps accepting while the
// broker is down; the relay, workers and collector reconnect and catch up.)
//
// The deployment has a RabbitMQ node of its own: the ctest run's shared node must stay up.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>

#include "checks.h"
#include "cluster.h"

namespace inferline::distributed {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t Completed(Cluster& c) {
  auto r = c.Sql("SELECT count(*) FROM requests WHERE user_id = 'rmq' AND status = 'completed'");
  return r.ok() ? r->Int(0, 0) : -1;
}

// Waits until `n` more requests completed than `from`; returns whether they did in time.
bool WaitProgress(Cluster& c, int64_t from, int64_t n, seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Completed(c) >= from + n) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

TEST(DistributedRabbitMqRestart, NoAcceptedRequestIsLostWhenRabbitMqRestartsUnderLoad) {
  ClusterOptions o;
  o.name = "rmqrestart";
  o.own_rabbitmq = true;
  o.extra_args = {"--engine-max-slots", "4"};
  auto started = Cluster::Start(o);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  Cluster& c = **started;
  const std::string key = CreateUserKey(c, "rmq");
  ASSERT_FALSE(key.empty());

  std::atomic<bool> stop{false};
  Submitted s;
  std::thread client([&] {
    s = Submit(
        c.gateway_port(), 1'000'000, 3,
        [](int i) {
          return fmt::format(
              R"({{"model":"kjv-small","prompt":"Hear, O Israel {}","max_tokens":{}}})", i,
              2 + i % 3);
        },
        [&](int) { return key; }, &stop, milliseconds(100));
  });
  ASSERT_TRUE(WaitProgress(c, 0, 20, seconds(120))) << c.Logs();

  // 1. Graceful restart.
  int64_t before = Completed(c);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.rabbitmq().Restart().ok());
  std::printf("[ measure  ] RabbitMQ restarted in %lld ms with %lld requests done\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()),
              static_cast<long long>(before));
  EXPECT_TRUE(WaitProgress(c, Completed(c), 20, seconds(120)))
      << "no progress after the restart\n" << c.Logs();

  // 2. Crash, with the node down for a while.
  before = Completed(c);
  ASSERT_TRUE(c.rabbitmq().Kill().ok());
  std::this_thread::sleep_for(seconds(2));
  ASSERT_TRUE(c.rabbitmq().StartAgain().ok());
  EXPECT_TRUE(WaitProgress(c, Completed(c), 20, seconds(120)))
      << "no progress after the crash\n" << c.Logs();
  std::this_thread::sleep_for(seconds(1));
  stop = true;
  client.join();

  std::printf("[ measure  ] %zu accepted, %zu refused during the restarts\n", s.accepted.size(),
              s.refused.size());
  ASSERT_GT(s.accepted.size(), 60u);
  for (const std::string& r : s.refused) {
    // Refusals are allowed (not accepted, so not lost) but must be the documented 503.
    EXPECT_EQ(r.rfind("503", 0), 0u) << r;
  }
  std::vector<std::string> open = WaitTerminal(c, s.accepted, seconds(300));
  ASSERT_TRUE(open.empty()) << open.size() << " accepted requests never finished, e.g. "
                            << open.front() << "\n" << c.Logs();
  std::map<std::string, int64_t> counts = StatusCounts(c, s.accepted);
  EXPECT_EQ(counts["completed"], static_cast<int64_t>(s.accepted.size()))
      << ::testing::PrintToString(counts);
  ExpectOneLedgerRowPerCompleted(c, s.accepted);
  ExpectAccountingAgrees(c, c.gateway_port(), "rmq", key, "after RabbitMQ restarts");
  if (HasFailure()) std::printf("%s", c.Logs().c_str());
}

}  // namespace
}  // namespace inferline::distributed
