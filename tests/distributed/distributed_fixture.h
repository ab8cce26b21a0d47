// The shared fixture of the distributed end-to-end suite: one deployment for the whole test
// binary (cluster.h: PostgreSQL, Redis, the ctest run's RabbitMQ node with a queue prefix of its
// own, `inferline migrate`, one gateway, two workers and one collector), started in
// SetUpTestSuite. Tests that kill a process start it again before they end, so that the next
// test finds the deployment whole. Each test uses users of its own, so that its accounting
// checks see only its requests.
#pragma once

#include <gtest/gtest.h>

#include <csignal>

#include <memory>
#include <string>

#include "checks.h"
#include "cluster.h"
#include "e2e_client.h"

namespace inferline::distributed {

class Distributed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A write to a connection or pipe a killed process left behind must fail with EPIPE, not
    // end the whole suite.
    std::signal(SIGPIPE, SIG_IGN);
    ClusterOptions o;
    o.name = "dist";
    o.extra_args = {"--engine-max-slots", "4"};
    auto start = std::chrono::steady_clock::now();
    auto c = Cluster::Start(o);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::move(*c);
    std::printf("[ measure  ] deployment up (PostgreSQL, Redis, migrate, 4 processes): %lld ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count()));
  }
  static void TearDownTestSuite() {
    if (cluster_) {
      // SIGTERM is a clean shutdown for every role: exit status 0 (gateways first, as a
      // rollout would drain them).
      for (Role role : {Role::kGateway, Role::kWorker, Role::kCollector}) {
        for (int i = 0; i < cluster_->count(role); ++i) {
          if (cluster_->process(role, i) == nullptr) continue;
          EXPECT_EQ(cluster_->Stop(role, i), std::optional<int>(0))
              << RoleName(role) << " " << i << "\n" << cluster_->Logs();
        }
      }
    }
    cluster_.reset();
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the deployment did not start";
    // A previous test may have left a process down; every test starts with the full set.
    for (Role role : {Role::kCollector, Role::kWorker, Role::kGateway}) {
      for (int i = 0; i < cluster_->count(role); ++i) {
        if (cluster_->process(role, i) == nullptr) {
          ASSERT_TRUE(cluster_->Restart(role, i).ok()) << cluster_->Logs();
        }
      }
    }
  }
  void TearDown() override {
    if (HasFailure() && cluster_) std::printf("%s", cluster_->Logs().c_str());
  }

  static Cluster& cluster() { return *cluster_; }
  static uint16_t port() { return cluster_->gateway_port(); }

  static inline std::unique_ptr<Cluster> cluster_;
};

}  // namespace inferline::distributed
