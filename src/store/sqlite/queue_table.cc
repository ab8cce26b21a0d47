#include "store/sqlite/queue_table.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <optional>

namespace inferline::store {
namespace {

// The one INSERT behind both forms: ready (state 0, no delivery yet) or taken by an in-process
// consumer (state 1, its first delivery, leased until `lease_until_ms`). true when inserted;
// false when a kDeduplicated meta.message_id is still in the queue.
Result<bool> Insert(WriteTx& tx, std::string_view queue, std::string_view payload,
                    const queue::MessageMeta& meta, int64_t visible_at_ms, int64_t published_at_ms,
                    std::optional<int64_t> lease_until_ms, MessageId id_kind) {
  RETURN_IF_ERROR(queue::ValidateQueueName(queue));
  if (queue::IsDeadLetterQueueName(queue)) {
    return InvalidArgument("cannot publish to a dead-letter queue", "queue");
  }
  if (meta.tokens < 0) return InvalidArgument("message tokens must be >= 0", "tokens");
  ASSIGN_OR_RETURN(Statement st,
                   tx.conn().Prepare(
                       "INSERT INTO queue_messages(queue, message_id, record_id, payload, model, "
                       "tokens, priority, state, dead, deliveries, visible_at, published_at, "
                       "lease_until) VALUES (?1, ?2, ?12, ?3, ?4, ?5, ?6, ?9, 0, ?11, ?7, ?8, ?10) "
                       "ON CONFLICT DO NOTHING"));
  // The caller's values outlive Run below: bound without copies.
  st.BindView(1, queue);
  const int id_column = id_kind == MessageId::kDeduplicated ? 2 : 12;
  st.BindNull(2).BindNull(12);
  if (!meta.message_id.empty()) st.BindView(id_column, meta.message_id);
  st.BindBlobView(3, payload)
      .BindView(4, meta.model)
      .Bind(5, meta.tokens)
      .Bind(6, int64_t{meta.priority})
      .Bind(7, visible_at_ms)
      .Bind(8, published_at_ms)
      .Bind(9, int64_t{lease_until_ms ? kQueueLeased : kQueueReady})
      .Bind(10, lease_until_ms)
      .Bind(11, int64_t{lease_until_ms ? 1 : 0});  // deliveries so far
  RETURN_IF_ERROR(st.Run());
  if (tx.conn().Changes() == 0) return false;
  // queue_counts: added once per batch (migration 0003 dropped the insert trigger).
  tx.CountInserted(queue, lease_until_ms ? kQueueLeased : kQueueReady, meta.tokens);
  return true;
}

}  // namespace

Status InsertQueueMessage(WriteTx& tx, QueueSignals& signals, std::string_view queue,
                          std::string_view payload, const queue::MessageMeta& meta,
                          int64_t visible_at_ms, int64_t published_at_ms, MessageId id_kind) {
  ASSIGN_OR_RETURN(bool inserted, Insert(tx, queue, payload, meta, visible_at_ms,
                                         published_at_ms, std::nullopt, id_kind));
  if (inserted) tx.AfterCommit([&signal = signals.For(queue)] { signal.Notify(); });
  return Status::Ok();
}

Result<uint64_t> InsertLeasedQueueMessage(WriteTx& tx, std::string_view queue,
                                          std::string_view payload, const queue::MessageMeta& meta,
                                          int64_t lease_until_ms, int64_t published_at_ms) {
  ASSIGN_OR_RETURN(bool inserted, Insert(tx, queue, payload, meta, published_at_ms,
                                         published_at_ms, lease_until_ms,
                                         MessageId::kUniqueRecord));
  if (!inserted) {  // only a conflict on the row id could do this
    return Internal(fmt::format("message of '{}' not inserted into {}", meta.message_id, queue));
  }
  return static_cast<uint64_t>(sqlite3_last_insert_rowid(tx.conn().raw()));
}

}  // namespace inferline::store
