// OutageStore: a Store that passes every call through to another one, except that while `down`
// is set, MarkRunning and FinalizeRequest fail with Unavailable, as they do while PostgreSQL is
// unreachable. For tests of how the worker and the collector ride out a store outage.
// OpenReservedTokens answers `open_reserved_tokens` after `open_reserved_delay` (the wrapped
// embedded store does not sum the backlog), counting its calls.
//
// Thread-safety: as the wrapped store; `down` may be flipped from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/store.h"

namespace inferline::store::testing {

class OutageStore : public Store {
 public:
  explicit OutageStore(Store& inner) : inner_(inner) {}
  std::atomic<bool> down{false};
  std::atomic<int> mark_running_calls{0};
  std::atomic<int> finalize_calls{0};
  std::atomic<int> open_reserved_calls{0};
  std::atomic<int64_t> open_reserved_tokens{0};
  std::atomic<int> open_reserved_delay_ms{0};

  Result<bool> MarkRunning(std::string_view id, std::string_view worker_id,
                           Time now) override {
    ++mark_running_calls;
    if (down) return Unavailable("the store is down (test)");
    return inner_.MarkRunning(id, worker_id, now);
  }
  Status CreateUser(const User& u) override { return inner_.CreateUser(u); }
  Result<User> GetUser(std::string_view id) override { return inner_.GetUser(id); }
  Status UpdateUser(const User& u) override { return inner_.UpdateUser(u); }
  Result<Page<User>> ListUsers(const PageRequest& p) override {
    return inner_.ListUsers(p);
  }
  Status CreateApiKey(const ApiKey& k) override { return inner_.CreateApiKey(k); }
  Result<ApiKey> GetApiKey(std::string_view id) override { return inner_.GetApiKey(id); }
  Result<ApiKey> FindApiKeyByHash(std::string_view h) override {
    return inner_.FindApiKeyByHash(h);
  }
  Result<std::vector<ApiKey>> ListApiKeys(std::string_view u) override {
    return inner_.ListApiKeys(u);
  }
  Result<bool> RevokeApiKey(std::string_view id, Time now) override {
    return inner_.RevokeApiKey(id, now);
  }
  Status TouchApiKey(std::string_view id, Time now) override {
    return inner_.TouchApiKey(id, now);
  }
  Status CreateRequest(const RequestRecord& r,
                       const std::optional<OutboxMessage>& o) override {
    return inner_.CreateRequest(r, o);
  }
  Result<RequestRecord> GetRequest(std::string_view id) override {
    return inner_.GetRequest(id);
  }
  Result<Page<RequestRecord>> ListRequestsByUser(
      std::string_view u, const PageRequest& p) override {
    return inner_.ListRequestsByUser(u, p);
  }
  Result<std::vector<std::string>> ListOpenRequestIds(RequestStatus s,
                                                      std::string_view after,
                                                      int limit) override {
    return inner_.ListOpenRequestIds(s, after, limit);
  }
  Result<bool> FinalizeRequest(std::string_view id, const RequestOutcome& o) override {
    ++finalize_calls;
    if (down) return Unavailable("the store is down (test)");
    return inner_.FinalizeRequest(id, o);
  }
  Result<CancelResult> CancelRequest(std::string_view id, Time now) override {
    return inner_.CancelRequest(id, now);
  }
  Result<std::vector<UsageAggregate>> AggregateUsage(
      const UsageQuery& q) override {
    return inner_.AggregateUsage(q);
  }
  Result<int64_t> OpenReservedTokens(std::string_view model) override {
    (void)model;
    ++open_reserved_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(open_reserved_delay_ms.load()));
    return open_reserved_tokens.load();
  }

 private:
  Store& inner_;
};

}  // namespace inferline::store::testing
