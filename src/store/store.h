// Store: the system of record. Users and plans, API keys (hashed), request records with their
// results, and the usage ledger. Implementations: store/sqlite (embedded, default); a
// PostgreSQL one for the distributed deployment implements the same interface.
//
// Accepting a request is ONE atomic step: CreateRequest(record, outbox) writes the record and
// makes its queue message durable together, so a request is either absent or recorded AND
// queued; there is no window in which a crash leaves a queued record without a message.
// Embedded: the SQLite broker's queue table lives in the same database, so both rows go into the
// same transaction and the broker sees the message as soon as the transaction commits (the
// caller must not also Publish it). Distributed: the record and an outbox row commit together
// and a relay publishes outbox rows to the broker (publish-confirm, then delete), which is
// at-least-once and relies on the message id for deduplication downstream.
//
// Idempotency, so that at-least-once delivery gives exactly-once effects:
// - FinalizeRequest updates only a non-terminal row and says whether this call made the
//   transition; the usage ledger row it records is keyed by request id and written at most once.
// - MarkRunning and CancelRequest also act only on non-terminal rows.
//
// Thread-safety: every method may be called from any thread. Methods block (disk or network):
// never call them on an HTTP I/O thread; the gateway runs them on its blocking pool.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/types.h"

namespace inferline::store {

class Store {
 public:
  virtual ~Store() = default;

  // --- Users and plans.
  [[nodiscard]] virtual Status CreateUser(const User& user) = 0;  // AlreadyExists
  [[nodiscard]] virtual Result<User> GetUser(std::string_view id) = 0;  // NotFound
  // Replaces plan and limits_json.
  [[nodiscard]] virtual Status UpdateUser(const User& user) = 0;  // NotFound
  [[nodiscard]] virtual Result<Page<User>> ListUsers(const PageRequest& page) = 0;  // by id

  // --- API keys. The secret never reaches the store, only its hash.
  [[nodiscard]] virtual Status CreateApiKey(const ApiKey& key) = 0;  // AlreadyExists
  [[nodiscard]] virtual Result<ApiKey> GetApiKey(std::string_view id) = 0;
  // Finds a key by secret hash, revoked or not (the caller checks revoked_at).
  [[nodiscard]] virtual Result<ApiKey> FindApiKeyByHash(std::string_view secret_hash) = 0;
  // Keys of one user, or of everyone when user_id is empty; oldest first.
  [[nodiscard]] virtual Result<std::vector<ApiKey>> ListApiKeys(std::string_view user_id) = 0;
  // true when this call revoked it; false when it already was.
  [[nodiscard]] virtual Result<bool> RevokeApiKey(std::string_view id, Time now) = 0;
  // Records last use. Best effort: returns before the write is durable.
  [[nodiscard]] virtual Status TouchApiKey(std::string_view id, Time now) = 0;

  // --- Request records.
  // Inserts `record` (its status must be queued) and, when given, enqueues `outbox` in the
  // same atomic step (see above). AlreadyExists when the id is taken.
  [[nodiscard]] virtual Status CreateRequest(const RequestRecord& record,
                                             const std::optional<OutboxMessage>& outbox) = 0;
  // CreateRequest without waiting: `done` gets its Status once the step committed (or failed),
  // on a thread of the store's choosing, and must not block. CreatesWithoutBlocking() says
  // whether the call itself returns at once; otherwise (the default) it is CreateRequest
  // followed by `done` on the calling thread, and belongs on a thread that may block.
  virtual void CreateRequestAsync(RequestRecord record, std::optional<OutboxMessage> outbox,
                                  std::function<void(Status)> done) {
    done(CreateRequest(record, outbox));
  }
  virtual bool CreatesWithoutBlocking() const { return false; }
  [[nodiscard]] virtual Result<RequestRecord> GetRequest(std::string_view id) = 0;  // NotFound
  // The user's requests, newest first.
  [[nodiscard]] virtual Result<Page<RequestRecord>> ListRequestsByUser(
      std::string_view user_id, const PageRequest& page) = 0;
  // Ids of requests in a non-terminal `status` (queued or running), in id order after
  // `after_id`; for startup recovery and sweeps.
  [[nodiscard]] virtual Result<std::vector<std::string>> ListOpenRequestIds(
      RequestStatus status, std::string_view after_id, int limit) = 0;

  // queued|running -> running, attempts + 1, started_at = now. false when the request is
  // already terminal (the worker then drops it); NotFound when it does not exist.
  [[nodiscard]] virtual Result<bool> MarkRunning(std::string_view id, std::string_view worker_id,
                                                 Time now) = 0;
  // Moves a non-terminal request to outcome.status (terminal) with its output, usage and
  // error; true when this call did the transition. Whether or not it did, a non-zero
  // outcome.usage is recorded in the usage ledger once per request (so a request cancelled
  // while running still bills the tokens the worker spent).
  [[nodiscard]] virtual Result<bool> FinalizeRequest(std::string_view id,
                                                     const RequestOutcome& outcome) = 0;
  // queued|running -> cancelled. The result tells whether this call cancelled it and what it
  // found: a request cancelled while queued never ran (its reservation can be refunded at
  // once); one cancelled while running is settled when its worker reports.
  [[nodiscard]] virtual Result<CancelResult> CancelRequest(std::string_view id, Time now) = 0;

  // --- Usage ledger.
  // Totals per (user, model) over [from, to), ordered by user then model.
  [[nodiscard]] virtual Result<std::vector<UsageAggregate>> AggregateUsage(
      const UsageQuery& query) = 0;

  // --- Scaling.
  // Reserved tokens (prompt + max_tokens) of the model's queued and running requests: the token
  // backlog KEDA scales workers on, where the broker cannot sum it (RabbitMQ). Unimplemented
  // where the broker reports it itself (the embedded SQLite queue).
  [[nodiscard]] virtual Result<int64_t> OpenReservedTokens(std::string_view model) {
    (void)model;
    return Status(StatusCode::kUnimplemented, "the store does not sum reserved tokens");
  }
};

}  // namespace inferline::store
