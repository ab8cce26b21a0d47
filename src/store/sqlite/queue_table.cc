#include "store/sqlite/queue_table.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace inferline::store {

Status InsertQueueMessage(WriteTx& tx, ChangeSignal& signal, std::string_view queue,
                          std::string_view payload, const queue::MessageMeta& meta,
                          int64_t visible_at_ms, int64_t published_at_ms) {
  RETURN_IF_ERROR(queue::ValidateQueueName(queue));
  if (queue::IsDeadLetterQueueName(queue)) {
    return InvalidArgument("cannot publish to a dead-letter queue", "queue");
  }
  if (meta.tokens < 0) return InvalidArgument("message tokens must be >= 0", "tokens");
  ASSIGN_OR_RETURN(Statement st,
                   tx.conn().Prepare(
                       "INSERT INTO queue_messages(queue, message_id, payload, model, tokens, "
                       "priority, state, dead, deliveries, visible_at, published_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0, ?7, ?8) ON CONFLICT DO NOTHING"));
  st.Bind(1, queue);
  if (meta.message_id.empty()) {
    st.BindNull(2);
  } else {
    st.Bind(2, meta.message_id);
  }
  st.BindBlob(3, payload)
      .Bind(4, meta.model)
      .Bind(5, meta.tokens)
      .Bind(6, int64_t{meta.priority})
      .Bind(7, visible_at_ms)
      .Bind(8, published_at_ms);
  RETURN_IF_ERROR(st.Run());
  if (tx.conn().Changes() > 0) tx.AfterCommit([&signal] { signal.Notify(); });
  return Status::Ok();
}

Result<uint64_t> InsertLeasedQueueMessage(WriteTx& tx, std::string_view queue,
                                          std::string_view payload, const queue::MessageMeta& meta,
                                          int64_t lease_until_ms, int64_t published_at_ms) {
  RETURN_IF_ERROR(queue::ValidateQueueName(queue));
  if (queue::IsDeadLetterQueueName(queue)) {
    return InvalidArgument("cannot publish to a dead-letter queue", "queue");
  }
  if (meta.tokens < 0) return InvalidArgument("message tokens must be >= 0", "tokens");
  ASSIGN_OR_RETURN(Statement st,
                   tx.conn().Prepare(
                       "INSERT INTO queue_messages(queue, message_id, payload, model, tokens, "
                       "priority, state, dead, deliveries, visible_at, published_at, lease_until) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0, 1, ?7, ?7, ?8) "
                       "ON CONFLICT DO NOTHING"));
  st.Bind(1, queue);
  if (meta.message_id.empty()) {
    st.BindNull(2);
  } else {
    st.Bind(2, meta.message_id);
  }
  st.BindBlob(3, payload)
      .Bind(4, meta.model)
      .Bind(5, meta.tokens)
      .Bind(6, int64_t{meta.priority})
      .Bind(7, published_at_ms)
      .Bind(8, lease_until_ms);
  RETURN_IF_ERROR(st.Run());
  if (tx.conn().Changes() == 0) {
    return AlreadyExists(fmt::format("message '{}' is already in {}", meta.message_id, queue));
  }
  return static_cast<uint64_t>(sqlite3_last_insert_rowid(tx.conn().raw()));
}

}  // namespace inferline::store
