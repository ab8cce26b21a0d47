// SqliteStore: the Store (store/store.h) of the embedded deployment, on a SqliteDatabase shared
// with the embedded broker and quota ledger. Writes go through the database's group-commit
// writer; reads use its reader pool. CreateRequest's outbox message goes into the embedded
// broker's queue table in the same transaction as the record, which makes accept atomic.
//
// Thread-safety: every method may be called from any thread; methods block on disk, so never
// call them on an HTTP I/O thread.
#pragma once

#include <memory>

#include "store/sqlite/sqlite_database.h"
#include "store/store.h"

namespace inferline::store {

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<SqliteDatabase> db) : db_(std::move(db)) {}

  Status CreateUser(const User& user) override;
  Result<User> GetUser(std::string_view id) override;
  Status UpdateUser(const User& user) override;
  Result<Page<User>> ListUsers(const PageRequest& page) override;

  Status CreateApiKey(const ApiKey& key) override;
  Result<ApiKey> GetApiKey(std::string_view id) override;
  Result<ApiKey> FindApiKeyByHash(std::string_view secret_hash) override;
  Result<std::vector<ApiKey>> ListApiKeys(std::string_view user_id) override;
  Result<bool> RevokeApiKey(std::string_view id, Time now) override;
  Status TouchApiKey(std::string_view id, Time now) override;

  Status CreateRequest(const RequestRecord& record,
                       const std::optional<OutboxMessage>& outbox) override;
  // Queued on the group-commit writer; `done` runs on the writer thread after the commit.
  void CreateRequestAsync(RequestRecord record, std::optional<OutboxMessage> outbox,
                          std::function<void(Status)> done) override;
  bool CreatesWithoutBlocking() const override { return true; }
  Result<RequestRecord> GetRequest(std::string_view id) override;
  Result<Page<RequestRecord>> ListRequestsByUser(std::string_view user_id,
                                                 const PageRequest& page) override;
  Result<std::vector<std::string>> ListOpenRequestIds(RequestStatus status,
                                                      std::string_view after_id,
                                                      int limit) override;
  Result<bool> MarkRunning(std::string_view id, std::string_view worker_id, Time now) override;
  Result<bool> FinalizeRequest(std::string_view id, const RequestOutcome& outcome) override;
  Result<CancelResult> CancelRequest(std::string_view id, Time now) override;

  Result<std::vector<UsageAggregate>> AggregateUsage(const UsageQuery& query) override;

  const std::shared_ptr<SqliteDatabase>& database() const { return db_; }

 private:
  std::shared_ptr<SqliteDatabase> db_;
};

// Checks a PageRequest's limit (1..1000).
[[nodiscard]] Status ValidatePage(const PageRequest& page);

}  // namespace inferline::store
