// SqliteBroker: the embedded deployment's durable queue (the Broker of queue/broker.h), a table in
// the same SQLite database as the store, so a restart keeps queued work and a request record and
// its message can commit in one transaction (store::Store::CreateRequest with an outbox message).
//
// Every state change (publish, lease, ack, nack) is one operation on the database's
// group-commit writer; Consume's lease is durable before the message is handed out, so a message
// that crashes the process counts its deliveries and dead-letters after max_deliveries.
// Blocked consumers sleep on the database's queue signal, woken by commits that add messages
// and by the next lease expiry; nothing polls.
//
// Recovery: the embedded process is the only consumer, so on startup it calls
// ReleaseAllLeases() (leases of its previous incarnation died with it) before its workers start.
//
// Thread-safety: every method may be called from any thread; methods block on disk.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "queue/broker.h"
#include "store/sqlite/sqlite_database.h"

namespace inferline::queue {

struct SqliteBrokerOptions {
  int max_deliveries = 3;  // deliveries before a message dead-letters (>= 1)
  // The clock leases and delays run on; tests inject one.
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
};

class SqliteBroker final : public Broker {
 public:
  SqliteBroker(std::shared_ptr<store::SqliteDatabase> db, SqliteBrokerOptions options = {});

  Status Publish(std::string_view queue, std::string_view payload,
                 const MessageMeta& meta) override;
  Result<std::vector<Delivery>> Consume(std::string_view queue,
                                        const ConsumeOptions& options) override;
  Status Ack(const Delivery& delivery) override;
  // The message and the ack in one transaction.
  PublishAckResult PublishAndAck(std::string_view queue, std::string_view payload,
                                 const MessageMeta& meta, const Delivery& delivery) override;
  Result<NackOutcome> Nack(const Delivery& delivery, bool requeue,
                           std::chrono::milliseconds delay = {}) override;
  Status ExtendLease(const Delivery& delivery, std::chrono::milliseconds extension) override;
  Result<QueueStats> Stats(std::string_view queue) override;
  Status ReleaseAllLeases() override;
  void Shutdown() override;

 private:
  struct LeaseResult {
    std::vector<Delivery> deliveries;
    std::optional<int64_t> next_wake_ms;  // when a lease expires or a delayed message shows
  };
  Result<LeaseResult> TryLease(const std::string& queue, const ConsumeOptions& options);
  int64_t NowMs() const;

  std::shared_ptr<store::SqliteDatabase> db_;
  SqliteBrokerOptions options_;
  std::atomic<bool> shutdown_{false};
};

}  // namespace inferline::queue
