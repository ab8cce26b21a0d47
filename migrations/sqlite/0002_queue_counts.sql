-- Message counts and token sums per queue, state and dead flag, kept by triggers in the same
-- transaction as every change to queue_messages. Queue statistics (the gateway's scaling and
-- back-pressure figures, read every few seconds) then read a handful of rows instead of
-- scanning the whole backlog, whose cost grew with its length.
CREATE TABLE queue_counts (
  queue  TEXT NOT NULL,
  state  INTEGER NOT NULL,
  dead   INTEGER NOT NULL,
  n      INTEGER NOT NULL DEFAULT 0,
  tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, state, dead)
) WITHOUT ROWID;

INSERT INTO queue_counts (queue, state, dead, n, tokens)
  SELECT queue, state, dead, COUNT(*), SUM(tokens) FROM queue_messages
  GROUP BY queue, state, dead;

CREATE TRIGGER queue_counts_insert AFTER INSERT ON queue_messages BEGIN
  INSERT INTO queue_counts (queue, state, dead, n, tokens)
    VALUES (NEW.queue, NEW.state, NEW.dead, 1, NEW.tokens)
    ON CONFLICT (queue, state, dead) DO UPDATE SET n = n + 1, tokens = tokens + excluded.tokens;
END;

CREATE TRIGGER queue_counts_delete AFTER DELETE ON queue_messages BEGIN
  UPDATE queue_counts SET n = n - 1, tokens = tokens - OLD.tokens
    WHERE queue = OLD.queue AND state = OLD.state AND dead = OLD.dead;
END;

CREATE TRIGGER queue_counts_update AFTER UPDATE OF queue, state, dead, tokens ON queue_messages
  WHEN OLD.queue IS NOT NEW.queue OR OLD.state IS NOT NEW.state OR OLD.dead IS NOT NEW.dead
    OR OLD.tokens IS NOT NEW.tokens
BEGIN
  UPDATE queue_counts SET n = n - 1, tokens = tokens - OLD.tokens
    WHERE queue = OLD.queue AND state = OLD.state AND dead = OLD.dead;
  INSERT INTO queue_counts (queue, state, dead, n, tokens)
    VALUES (NEW.queue, NEW.state, NEW.dead, 1, NEW.tokens)
    ON CONFLICT (queue, state, dead) DO UPDATE SET n = n + 1, tokens = tokens + excluded.tokens;
END;
