-- The outbox relay is woken in process by the gateway that committed the row (and polls for
-- rows another replica left behind), so the per-statement NOTIFY trigger goes: its PL/pgSQL
-- call cost about 23 us of every accept, and NOTIFY serializes committing transactions on
-- the notification queue's lock.
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS inferline_outbox_notify();
