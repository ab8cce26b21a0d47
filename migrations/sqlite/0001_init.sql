-- inferline embedded schema, version 1.
-- Times are integer milliseconds since the Unix epoch (UTC). JSON columns hold text that the
-- store does not interpret. No foreign keys: every write goes through one writer thread and the
-- application keeps the references consistent; enforcing them would cost an index probe per row.

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  plan        TEXT NOT NULL,
  limits_json TEXT NOT NULL DEFAULT '{}',  -- per-user overrides of the plan's limits
  created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL,
  name         TEXT NOT NULL,
  secret_hash  TEXT NOT NULL UNIQUE,       -- hex sha256 of the secret; the secret is never stored
  prefix       TEXT NOT NULL,              -- short display prefix, e.g. "il-3fa9"
  is_admin     INTEGER NOT NULL DEFAULT 0,
  scopes       TEXT NOT NULL DEFAULT '',   -- space-separated
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER
);
CREATE INDEX api_keys_by_user ON api_keys(user_id);

CREATE TABLE requests (
  id                      TEXT PRIMARY KEY,
  user_id                 TEXT NOT NULL,
  key_id                  TEXT NOT NULL,
  model                   TEXT NOT NULL,
  kind                    TEXT NOT NULL CHECK (kind IN ('completion', 'chat')),
  input_json              TEXT NOT NULL,   -- the prompt (JSON string) or the messages (JSON array)
  params_json             TEXT NOT NULL,
  stream                  INTEGER NOT NULL,
  prompt_tokens           INTEGER NOT NULL,
  reserved_tokens         INTEGER NOT NULL,
  status                  TEXT NOT NULL CHECK (status IN
                            ('queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
  output_text             TEXT,
  finish_reason           TEXT,
  usage_prompt_tokens     INTEGER,
  usage_completion_tokens INTEGER,
  usage_total_tokens      INTEGER,
  error_code              TEXT,
  error_message           TEXT,
  created_at              INTEGER NOT NULL,
  started_at              INTEGER,
  finished_at             INTEGER,
  deadline                INTEGER,
  attempts                INTEGER NOT NULL DEFAULT 0,
  worker_id               TEXT
);
CREATE INDEX requests_by_user ON requests(user_id, created_at DESC, id DESC);
CREATE INDEX requests_open ON requests(status, id) WHERE status IN ('queued', 'running');

-- One row per finished request that consumed tokens; request_id makes recording idempotent.
CREATE TABLE usage_ledger (
  request_id        TEXT PRIMARY KEY,
  user_id           TEXT NOT NULL,
  model             TEXT NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  created_at        INTEGER NOT NULL
);
CREATE INDEX usage_by_user_time ON usage_ledger(user_id, created_at);
CREATE INDEX usage_by_time ON usage_ledger(created_at);

-- The embedded broker's queues. state: 0 ready, 1 leased, 2 dead and reported (kept for
-- inspection). dead = 1 means the message is in the queue's dead-letter queue "<queue>.dlq".
-- The id never repeats (AUTOINCREMENT), so (id, deliveries) names one delivery exactly.
CREATE TABLE queue_messages (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  queue        TEXT NOT NULL,
  message_id   TEXT,
  payload      BLOB NOT NULL,
  model        TEXT NOT NULL DEFAULT '',
  tokens       INTEGER NOT NULL DEFAULT 0,
  priority     INTEGER NOT NULL DEFAULT 0,
  state        INTEGER NOT NULL DEFAULT 0,
  dead         INTEGER NOT NULL DEFAULT 0,
  deliveries   INTEGER NOT NULL DEFAULT 0,
  visible_at   INTEGER NOT NULL,
  lease_until  INTEGER,
  published_at INTEGER NOT NULL
);
CREATE INDEX queue_pick ON queue_messages(queue, state, priority DESC, id);
CREATE UNIQUE INDEX queue_message_ids ON queue_messages(queue, message_id)
  WHERE message_id IS NOT NULL;

-- The embedded quota ledger. A reservation row exists exactly while it is outstanding; settling
-- deletes it and adds the actual cost to the counters of the periods it was charged to.
CREATE TABLE quota_reservations (
  request_id TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL,
  tokens     INTEGER NOT NULL,
  requests   INTEGER NOT NULL,
  day        INTEGER NOT NULL,   -- UTC days since the epoch
  month      INTEGER NOT NULL,   -- year * 12 + (month - 1)
  created_at INTEGER NOT NULL
);

-- Settled usage per user per calendar period. kind: 0 day, 1 month.
CREATE TABLE quota_counters (
  user_id  TEXT NOT NULL,
  kind     INTEGER NOT NULL,
  period   INTEGER NOT NULL,
  tokens   INTEGER NOT NULL DEFAULT 0,
  requests INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, kind, period)
) WITHOUT ROWID;
