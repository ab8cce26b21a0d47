// The embedded broker's table, queue_messages (schema in migrations/sqlite). Inserting lives
// here because two writers share it: SqliteStore::CreateRequest (the request record and its
// message in one transaction) and queue::SqliteBroker::Publish.
//
// Thread-safety: call only from a write operation (the writer thread).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "queue/message.h"
#include "store/sqlite/change_signal.h"
#include "store/sqlite/sqlite_database.h"

namespace inferline::store {

// Message states in queue_messages.state.
inline constexpr int64_t kQueueReady = 0;
inline constexpr int64_t kQueueLeased = 1;
inline constexpr int64_t kQueueDeadReported = 2;

// Where a message's meta.message_id is kept; consumers get it back either way.
enum class MessageId {
  // In message_id, under the unique index queue_message_ids: a second insert with the same id
  // while the first message is in the queue is a no-op (Broker::Publish's deduplication).
  kDeduplicated,
  // In record_id, outside that index: for a request's message, inserted in the transaction that
  // inserts its record, whose primary key already makes the id unique. Saves the writer one
  // index append per admission (migration 0005).
  kUniqueRecord,
};

// Inserts a ready message (with MessageId::kDeduplicated, a no-op when meta.message_id is set
// and a message with that id is still in the queue) and wakes blocked consumers once the
// transaction commits.
[[nodiscard]] Status InsertQueueMessage(WriteTx& tx, QueueSignals& signals,
                                        std::string_view queue, std::string_view payload,
                                        const queue::MessageMeta& meta, int64_t visible_at_ms,
                                        int64_t published_at_ms,
                                        MessageId id_kind = MessageId::kDeduplicated);

// Inserts a request's message, with its record, already leased until `lease_until_ms` as its
// first delivery (lease 1), for a consumer in this process that took it before it was
// written; returns its delivery tag. The id is kept as MessageId::kUniqueRecord. Wakes
// nobody: no consumer can take it.
[[nodiscard]] Result<uint64_t> InsertLeasedQueueMessage(WriteTx& tx, std::string_view queue,
                                                        std::string_view payload,
                                                        const queue::MessageMeta& meta,
                                                        int64_t lease_until_ms,
                                                        int64_t published_at_ms);

}  // namespace inferline::store
