// RedisQuotaLedger: the QuotaLedger of the distributed deployment. Every gateway replica shares
// one Redis; Reserve and Settle are single Lua scripts (quota_scripts.h), so a reservation is
// checked against and charged to every window atomically across replicas, and a settlement acts
// once. Key layout and window rules: quota_keys.h. Behaviour matches LocalQuotaLedger (the
// shared contract test runs against both).
//
// Durability: a reservation is in Redis when Reserve returns; it survives a gateway crash and is
// listed by ListReservations for recovery. How much survives a Redis crash depends on the
// server's persistence (AOF with appendfsync everysec loses at most a second); run Redis with
// persistence in production.
//
// Failure mode: when Redis cannot be reached every method returns Unavailable quickly (the
// client fails fast between reconnect attempts), which the gateway answers with 503: requests
// are refused rather than admitted without a quota check (fail closed).
//
// Thread-safety: every method may be called from any thread; calls block on the network (never
// call them on an HTTP I/O thread). All state is in Redis; the client is thread-safe.
#pragma once

#include <memory>

#include "quota/quota_ledger.h"
#include "redis/redis_client.h"

namespace inferline::quota {

class RedisQuotaLedger final : public QuotaLedger {
 public:
  explicit RedisQuotaLedger(std::shared_ptr<redis::RedisClient> client);

  Result<ReserveOutcome> Reserve(const ReserveRequest& request, const Limits& limits,
                                 Time now) override;
  Result<bool> Settle(std::string_view request_id, int64_t actual_tokens, Time now,
                      std::optional<int64_t> actual_requests = {}) override;
  // The reserve script and the usage reads pipelined in one round trip.
  Result<ReserveReport> ReserveReportingUsage(const ReserveRequest& request, const Limits& limits,
                                              Time now) override;
  // The same through the client's pipeline (RedisClient::EvalThenAsync): `done` runs on its
  // thread, batched with the other reservations in flight.
  void ReserveReportingUsageAsync(const ReserveRequest& request, const Limits& limits, Time now,
                                  ReserveDone done) override;
  bool ReservesWithoutBlocking() const override { return true; }
  Result<std::vector<WindowUsage>> Usage(std::string_view user_id, const Limits& limits,
                                         Time now) override;
  Result<std::vector<ReservationInfo>> ListReservations() override;

 private:
  std::shared_ptr<redis::RedisClient> client_;
};

}  // namespace inferline::quota
