// PostgresStore: the Store (store/store.h) of the distributed deployment, on a PostgreSQL
// server shared by every gateway, worker and collector replica.
//
// - Reads and account writes (users, API keys) run on a bounded pool of sessions (PgPool), each
//   as one prepared statement.
// - Request writes (CreateRequest, MarkRunning, FinalizeRequest, CancelRequest, TouchApiKey) go
//   through group commit (PgGroupCommit): writes arriving together from many threads share one
//   transaction, so the collector's finalize stream costs one commit per batch. Each of them is a
//   single statement (CTEs) that is complete on its own: the row lock (FOR UPDATE) makes two
//   concurrent finalizes of one request see each other, so only one makes the transition and the
//   usage row (keyed by request id) is written once.
// - CreateRequest(record, outbox) inserts the request row and its outbox row in ONE statement,
//   hence one transaction; OutboxRelay (outbox_relay.h) later publishes the outbox row to the
//   broker. The caller must not publish the message itself.
//
// The schema comes from RunPostgresMigrations (`inferline migrate`); Open refuses a database
// whose schema is older or newer than this binary's.
//
// Thread-safety: every method may be called from any thread; methods block on the network, so
// never call them on an HTTP I/O thread.
#pragma once

#include <memory>

#include "store/postgres/pg_group_commit.h"
#include "store/postgres/pg_pool.h"
#include "store/postgres/postgres_metrics.h"
#include "store/postgres/postgres_options.h"
#include "store/store.h"

namespace inferline::store {

class PostgresStore final : public Store {
 public:
  // Connects once to check the server and the schema version: Unavailable (naming the server)
  // when it cannot be reached, FailedPrecondition when the database needs `inferline migrate`.
  [[nodiscard]] static Result<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options);
  ~PostgresStore() override = default;  // finishes queued writes

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
  // Queued for group commit without waiting; `done` runs on a writer thread after the commit.
  void CreateRequestAsync(RequestRecord record, std::optional<OutboxMessage> outbox,
                          std::function<void(Status)> done) override;
  bool CreatesWithoutBlocking() const override { return true; }
  // An outbox row that this process committed, with what it holds.
  struct CommittedOutbox {
    int64_t id = 0;  // outbox.id
    int64_t created_at_ms = 0;  // outbox.created_at: the request's creation, ms since the epoch
    OutboxMessage message;
  };
  // Runs on a writer thread after a request with an outbox row committed (the gateway hands the
  // row to its OutboxRelay, which publishes it without reading it back). Set before the first
  // write; it must stay callable while the store exists.
  void SetOutboxCommitted(std::function<void(CommittedOutbox)> committed) {
    outbox_committed_ = std::move(committed);
  }
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
  Result<int64_t> OpenReservedTokens(std::string_view model) override;

  // One round trip on a pooled session (readiness probes).
  [[nodiscard]] Status Ping();

  PgPool& pool() { return pool_; }
  PgWriterStats writer_stats() const { return writes_.stats(); }
  // Waits until every write submitted so far has committed (or failed) and its callback ran.
  void FlushWrites() { writes_.Flush(); }

 private:
  explicit PostgresStore(const PostgresOptions& options);
  // CreateRequest's statement, or why the record cannot be written. With an outbox row, its id
  // goes to *outbox_id once the statement ran.
  static Result<PgWrite> CreateWrite(const RequestRecord& record,
                                     const std::optional<OutboxMessage>& outbox,
                                     std::shared_ptr<int64_t> outbox_id = nullptr);

  PostgresMetrics metrics_;
  std::function<void(CommittedOutbox)> outbox_committed_;
  PgPool pool_;
  PgGroupCommit writes_;  // declared last: stops (draining its queue) first
};

}  // namespace inferline::store
