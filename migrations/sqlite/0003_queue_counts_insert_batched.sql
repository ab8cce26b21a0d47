-- inferline embedded schema, version 3: the writer adds inserted messages to queue_counts once
-- per transaction (WriteTx::CountInserted), instead of a trigger running one upsert per row.
-- Updates and deletes keep their triggers.
DROP TRIGGER queue_counts_insert;
