-- inferline PostgreSQL schema, version 1: the same records as the embedded schema
-- (migrations/sqlite/0001_init.sql) plus the transactional outbox of the distributed accept path.
-- Times are bigint milliseconds since the Unix epoch (UTC), as in the embedded store, so both
-- stores read back exactly what they were given. Ids compare bytewise (COLLATE "C") so that
-- cursors and ordering do not depend on the server's locale. JSON columns hold text that the
-- store does not interpret.

CREATE TABLE users (
  id          text COLLATE "C" PRIMARY KEY,
  plan        text NOT NULL,
  limits_json text NOT NULL DEFAULT '{}',   -- per-user overrides of the plan's limits
  created_at  bigint NOT NULL
);

CREATE TABLE api_keys (
  id           text COLLATE "C" PRIMARY KEY,
  user_id      text COLLATE "C" NOT NULL,
  name         text NOT NULL,
  secret_hash  text NOT NULL UNIQUE,        -- hex sha256 of the secret; the secret is never stored
  prefix       text NOT NULL,               -- short display prefix, e.g. "il-3fa9"
  is_admin     boolean NOT NULL DEFAULT false,
  scopes       text NOT NULL DEFAULT '',    -- space-separated
  created_at   bigint NOT NULL,
  revoked_at   bigint,
  last_used_at bigint
);
CREATE INDEX api_keys_by_user ON api_keys(user_id, created_at, id);

CREATE TABLE requests (
  id                      text COLLATE "C" PRIMARY KEY,
  user_id                 text COLLATE "C" NOT NULL,
  key_id                  text NOT NULL,
  model                   text NOT NULL,
  kind                    text NOT NULL CHECK (kind IN ('completion', 'chat')),
  input_json              text NOT NULL,    -- the prompt (JSON string) or the messages (array)
  params_json             text NOT NULL,
  stream                  boolean NOT NULL,
  prompt_tokens           bigint NOT NULL,
  reserved_tokens         bigint NOT NULL,
  status                  text NOT NULL CHECK (status IN
                            ('queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
  output_text             text,
  finish_reason           text,
  usage_prompt_tokens     bigint,
  usage_completion_tokens bigint,
  usage_total_tokens      bigint,
  error_code              text,
  error_message           text,
  created_at              bigint NOT NULL,
  started_at              bigint,
  finished_at             bigint,
  deadline                bigint,
  attempts                integer NOT NULL DEFAULT 0,
  worker_id               text
);
CREATE INDEX requests_by_user ON requests(user_id, created_at DESC, id DESC);
CREATE INDEX requests_open ON requests(status, id) WHERE status IN ('queued', 'running');

-- One row per finished request that consumed tokens; request_id makes recording idempotent.
CREATE TABLE usage_ledger (
  request_id        text COLLATE "C" PRIMARY KEY,
  user_id           text COLLATE "C" NOT NULL,
  model             text NOT NULL,
  prompt_tokens     bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  created_at        bigint NOT NULL
);
CREATE INDEX usage_by_user_time ON usage_ledger(user_id, created_at);
CREATE INDEX usage_by_time ON usage_ledger(created_at);

-- Transactional outbox: a request's queue message, inserted in the same transaction as the
-- request row. OutboxRelay publishes rows to the broker (in id order, several relays at once
-- with FOR UPDATE SKIP LOCKED) and deletes them once the broker confirmed.
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  queue      text NOT NULL,
  payload    text NOT NULL,
  message_id text NOT NULL DEFAULT '',
  model      text NOT NULL DEFAULT '',
  tokens     bigint NOT NULL DEFAULT 0,
  priority   integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL
);

-- Wakes the relays (LISTEN inferline_outbox) when rows commit; PostgreSQL folds the
-- notifications of one transaction into one and delivers them only on commit.
CREATE FUNCTION inferline_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('inferline_outbox', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION inferline_outbox_notify();
