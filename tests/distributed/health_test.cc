// Distributed: every process answers /healthz, /readyz and /metrics; PostgreSQL stopped for
// seconds under load fails no accepted request (workers hold their deliveries instead of
// spending them); /readyz follows the backends (PostgreSQL stopped, Redis killed: 503 naming
// the backend, then ready again once it is back), and while Redis is down the gateway refuses
// new requests with a clear 503 (quotas fail closed) and accepts again afterwards.
//
// Runs last in the binary (its source is last): the Redis restart empties Redis.
#include <fmt/format.h>

#include <thread>

#include "distributed_fixture.h"

namespace inferline::distributed {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Probe {
  std::string what;
  uint16_t port;
};

std::vector<Probe> Probes(Cluster& c) {
  std::vector<Probe> out;
  for (Role role : {Role::kGateway, Role::kWorker, Role::kCollector}) {
    for (int i = 0; i < c.count(role); ++i) {
      if (e2e::ServerProcess* p = c.process(role, i)) {
        out.push_back({fmt::format("{} {}", RoleName(role), i), p->port()});
      }
    }
  }
  return out;
}

// Waits until /readyz of `probe` answers `status`; returns the last body.
// Polls /readyz until it answers `status` with a body naming `names` (each backend's check runs
// on its own schedule, so the first 503 may name only one of several that are down).
std::string WaitReadyz(const Probe& probe, unsigned status, std::string_view names = {},
                       seconds timeout = seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string body;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = e2e::Call(probe.port, "GET", "/readyz", {}, {}, {}, seconds(5));
    if (r) body = r->body;
    if (r && r->status == status && body.find(names) != std::string::npos) return body;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ADD_FAILURE() << probe.what << ": /readyz never answered " << status << " naming '" << names
                << "'; last: " << body;
  return body;
}

TEST_F(Distributed, EveryProcessIsHealthyReadyAndExportsItsMetrics) {
  const std::vector<std::pair<Role, std::string>> metric = {
      {Role::kGateway, "inferline_admissions_total"},
      {Role::kWorker, "inferline_worker_requests_total"},
      {Role::kCollector, "inferline_collector_results_total"}};
  for (const auto& [role, name] : metric) {
    for (int i = 0; i < cluster().count(role); ++i) {
      SCOPED_TRACE(fmt::format("{} {}", RoleName(role), i));
      e2e::ServerProcess* p = cluster().process(role, i);
      ASSERT_NE(p, nullptr);
      auto healthz = e2e::Call(p->port(), "GET", "/healthz");
      ASSERT_TRUE(healthz) << "no answer on port " << p->port() << "\n" << p->log();
      EXPECT_EQ(healthz->status, 200u);
      auto readyz = e2e::Call(p->port(), "GET", "/readyz");
      ASSERT_TRUE(readyz);
      EXPECT_EQ(readyz->status, 200u);
      auto m = e2e::Call(p->port(), "GET", "/metrics");
      ASSERT_TRUE(m);
      EXPECT_EQ(m->status, 200u);
      EXPECT_NE(m->body.find(name), std::string::npos) << m->body.substr(0, 2000);
    }
  }
}

TEST_F(Distributed, PostgresStoppedUnderLoadLosesNoAcceptedRequest) {
  const std::string key = CreateUserKey(cluster(), "pgout");
  ASSERT_FALSE(key.empty());
  constexpr int kRequests = 60;
  Submitted s = Submit(
      port(), kRequests, 4,
      [](int i) {
        return fmt::format(R"({{"model":"kjv-small","prompt":"Psalm {} of David","max_tokens":60}})",
                           i);
      },
      [&](int) { return key; });
  ASSERT_EQ(s.accepted.size(), static_cast<size_t>(kRequests));
  auto open_before = cluster().Sql(fmt::format(
      "SELECT count(*) FROM requests WHERE id IN {} AND status IN ('queued','running')",
      SqlList(s.accepted)));
  ASSERT_TRUE(open_before.ok());
  ASSERT_TRUE(cluster().postgres().Stop().ok());
  std::this_thread::sleep_for(seconds(8));
  ASSERT_TRUE(cluster().postgres().Resume().ok());
  std::printf("[ measure  ] PostgreSQL down for 8 s with %lld of %d requests open\n",
              static_cast<long long>(open_before->Int(0, 0)), kRequests);

  std::vector<std::string> open = WaitTerminal(cluster(), s.accepted);
  ASSERT_TRUE(open.empty()) << open.size() << " never finished\n" << cluster().Logs();
  std::map<std::string, int64_t> counts = StatusCounts(cluster(), s.accepted);
  EXPECT_EQ(counts["completed"], kRequests) << ::testing::PrintToString(counts);
  ExpectOneLedgerRowPerCompleted(cluster(), s.accepted);
  ExpectAccountingAgrees(cluster(), port(), "pgout", key, "after a PostgreSQL outage");
}

TEST_F(Distributed, ReadinessFollowsTheBackendsAndQuotasFailClosedWithoutRedis) {
  const std::string key = CreateUserKey(cluster(), "outage");
  ASSERT_FALSE(key.empty());
  const std::vector<Probe> probes = Probes(cluster());
  ASSERT_GE(probes.size(), 4u);

  // PostgreSQL stopped: nobody is ready; started again: everybody is, without a restart.
  ASSERT_TRUE(cluster().postgres().Stop().ok());
  for (const Probe& p : probes) {
    SCOPED_TRACE(p.what);
    EXPECT_NE(WaitReadyz(p, 503, "postgres").find("postgres"), std::string::npos);
  }
  ASSERT_TRUE(cluster().postgres().Resume().ok());
  for (const Probe& p : probes) WaitReadyz(p, 200, {}, seconds(60));

  // Redis killed: not ready, and new requests are refused with a clear, retryable 503.
  cluster().redis_server().Kill();
  for (const Probe& p : probes) {
    SCOPED_TRACE(p.what);
    EXPECT_NE(WaitReadyz(p, 503, "redis").find("redis"), std::string::npos);
  }
  const std::string body = R"({"model":"kjv-small","prompt":"And it was so","max_tokens":3})";
  auto refused = e2e::Call(port(), "POST", "/v1/requests", body, key);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503u) << refused->body;
  EXPECT_FALSE(refused->Header("retry-after").empty());
  EXPECT_NE(refused->ErrorField("message").find("quota"), std::string::npos) << refused->body;
  auto none = cluster().Sql("SELECT count(*) FROM requests WHERE user_id = 'outage'");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->Int(0, 0), 0) << "a request was accepted without a quota check";

  ASSERT_TRUE(cluster().redis_server().Restart().ok());
  for (const Probe& p : probes) WaitReadyz(p, 200, {}, seconds(60));
  auto accepted = e2e::Call(port(), "POST", "/v1/requests", body, key);
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->status, 202u) << accepted->body;
  const std::string id(accepted->Json()["request_id"].as_string());
  std::vector<std::string> open = WaitTerminal(cluster(), {id}, seconds(120));
  ASSERT_TRUE(open.empty()) << cluster().Logs();
  EXPECT_EQ(StatusCounts(cluster(), {id})["completed"], 1);
  // The collector's first settle may meet a Redis connection the restart broke; it gives the
  // result back and settles on the retry a moment later. Wait for that, then compare.
  auto settled_by = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < settled_by) {
    Accounting a = ReadAccounting(cluster(), port(), "outage", key);
    if (a.redis_concurrent == 0 && a.redis_day_tokens_reserved == 0) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  ExpectAccountingAgrees(cluster(), port(), "outage", key, "after the outages");
}

}  // namespace
}  // namespace inferline::distributed
