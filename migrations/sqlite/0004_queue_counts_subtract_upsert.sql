-- inferline embedded schema, version 4: the update and delete triggers of queue_counts subtract
-- with an upsert. Since version 3 a transaction's inserts reach queue_counts just before
-- COMMIT, so a message inserted and then leased, acknowledged or dead-lettered in the same
-- transaction is subtracted from a row that its insert has not created yet; a plain UPDATE
-- then changed nothing and the count stayed one too high.
DROP TRIGGER queue_counts_delete;
DROP TRIGGER queue_counts_update;

CREATE TRIGGER queue_counts_delete AFTER DELETE ON queue_messages BEGIN
  INSERT INTO queue_counts (queue, state, dead, n, tokens)
    VALUES (OLD.queue, OLD.state, OLD.dead, -1, -OLD.tokens)
    ON CONFLICT (queue, state, dead) DO UPDATE
      SET n = n + excluded.n, tokens = tokens + excluded.tokens;
END;

CREATE TRIGGER queue_counts_update AFTER UPDATE OF queue, state, dead, tokens ON queue_messages
  WHEN OLD.queue IS NOT NEW.queue OR OLD.state IS NOT NEW.state OR OLD.dead IS NOT NEW.dead
    OR OLD.tokens IS NOT NEW.tokens
BEGIN
  INSERT INTO queue_counts (queue, state, dead, n, tokens)
    VALUES (OLD.queue, OLD.state, OLD.dead, -1, -OLD.tokens)
    ON CONFLICT (queue, state, dead) DO UPDATE
      SET n = n + excluded.n, tokens = tokens + excluded.tokens;
  INSERT INTO queue_counts (queue, state, dead, n, tokens)
    VALUES (NEW.queue, NEW.state, NEW.dead, 1, NEW.tokens)
    ON CONFLICT (queue, state, dead) DO UPDATE
      SET n = n + excluded.n, tokens = tokens + excluded.tokens;
END;
