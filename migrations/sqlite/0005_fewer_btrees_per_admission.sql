-- inferline embedded schema, version 5: fewer B-trees written per admitted request. Every
-- index that an admission appends to costs its commit two to three rewritten pages (SQLite
-- rebalances an index's rightmost leaf with its siblings when it fills; only rowid tables
-- append by splitting off a new page), so the writer's WAL volume grows with their number.

-- A request's queue message is inserted with its record, in one transaction, so the primary
-- key of requests already makes its id unique: the id goes to record_id, outside the unique
-- index queue_message_ids, which keeps the message ids that Publish deduplicates.
ALTER TABLE queue_messages ADD COLUMN record_id TEXT;

-- One B-tree instead of a rowid table and its primary-key index.
CREATE TABLE quota_reservations_v5 (
  request_id TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL,
  tokens     INTEGER NOT NULL,
  requests   INTEGER NOT NULL,
  day        INTEGER NOT NULL,   -- UTC days since the epoch
  month      INTEGER NOT NULL,   -- year * 12 + (month - 1)
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO quota_reservations_v5 (request_id, user_id, tokens, requests, day, month, created_at)
  SELECT request_id, user_id, tokens, requests, day, month, created_at FROM quota_reservations;
DROP TABLE quota_reservations;
ALTER TABLE quota_reservations_v5 RENAME TO quota_reservations;

-- Ascending: a user's newest request is appended at the end of its range rather than
-- inserted before its first entry. Listing newest first reads the index backwards.
DROP INDEX requests_by_user;
CREATE INDEX requests_by_user ON requests(user_id, created_at, id);
