// Test fixture for the collector and the whole pipeline over the embedded seams: the worker's
// EmbeddedSeams plus the local quota ledger, the gateway's accept (reserve, record + message,
// `queued`) and cancel, and quota read-outs. Header-only.
//
// Thread-safety: one fixture per test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "collector/collector.h"
#include "quota/local/local_quota_ledger.h"
#include "worker/testing/embedded_seams.h"

namespace inferline::collector::testing {

class PipelineFixture : public ::testing::Test {
 protected:
  PipelineFixture() {
    auto ledger = quota::LocalQuotaLedger::Open(seams_.db, Now());
    EXPECT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(*ledger);
  }

  static quota::Time Now() { return std::chrono::system_clock::now(); }

  CollectorOptions CollectorOpts() {
    CollectorOptions o;
    o.consume_wait = std::chrono::milliseconds(50);
    o.retry_delay = std::chrono::milliseconds(50);
    o.registry = &registry_;
    return o;
  }
  void MakeCollector() {
    collector_ = std::make_unique<Collector>(*seams_.broker, *seams_.store, *ledger_, seams_.bus,
                                             CollectorOpts());
  }

  // The gateway's accept: reserve prompt + max_tokens and one request, then record and queue.
  protocol::RequestMessage Accept(protocol::RequestMessage m,
                                  std::shared_ptr<store::DirectLease> direct = nullptr) {
    auto granted = ledger_->Reserve({m.user_id, m.request_id, m.reserved_tokens, 1}, limits_, Now());
    EXPECT_TRUE(granted.ok() && granted->granted);
    seams_.Accept(m, std::move(direct));
    return m;
  }
  // The gateway's DELETE: cancel the record, refund a request that never ran, end the stream.
  void GatewayCancel(const std::string& id) {
    auto c = seams_.store->CancelRequest(id, Now());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(c->cancelled);
    if (c->previous == store::RequestStatus::kQueued) {
      ASSERT_TRUE(ledger_->Settle(id, 0, Now(), 0).ok());
    }
    ASSERT_TRUE(seams_.bus.Publish(id, events::EventType::kCancelled, "{}").ok());
  }

  quota::WindowUsage Window(quota::Window w, const std::string& user = "user-1") {
    auto usage = ledger_->Usage(user, limits_, Now());
    EXPECT_TRUE(usage.ok());
    for (const auto& u : *usage) {
      if (u.window == w) return u;
    }
    return {};
  }
  int64_t TokensUsed() { return Window(quota::Window::kDailyTokens).used; }
  int64_t TokensReserved() { return Window(quota::Window::kDailyTokens).reserved; }
  int64_t RequestsUsed() { return Window(quota::Window::kDailyRequests).used; }
  int64_t Outstanding() {
    auto r = ledger_->ListReservations();
    EXPECT_TRUE(r.ok());
    return r.ok() ? static_cast<int64_t>(r->size()) : -1;
  }
  // Usage ledger totals of user-1 (requests, tokens).
  store::UsageAggregate Billed() {
    store::UsageQuery q;
    q.user_id = "user-1";
    q.from = Now() - std::chrono::hours(1);
    q.to = Now() + std::chrono::hours(1);
    auto agg = seams_.store->AggregateUsage(q);
    EXPECT_TRUE(agg.ok());
    store::UsageAggregate total;
    if (agg.ok()) {
      for (const auto& a : *agg) {
        total.requests += a.requests;
        total.prompt_tokens += a.prompt_tokens;
        total.completion_tokens += a.completion_tokens;
      }
    }
    return total;
  }
  double ResultsCounter(const std::string& status) {
    return registry_.AddCounter("inferline_collector_results_total", "", {"status"})
        .With({status})
        .Value();
  }

  worker::testing::EmbeddedSeams seams_;
  std::unique_ptr<quota::LocalQuotaLedger> ledger_;
  quota::Limits limits_;  // unlimited
  metrics::Registry registry_;
  std::unique_ptr<Collector> collector_;
};

}  // namespace inferline::collector::testing
