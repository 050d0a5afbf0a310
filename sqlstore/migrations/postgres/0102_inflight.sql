-- Deliveries in flight: marked before their call to Teams, removed when
-- the call's result is recorded. A delivery in this table is "sending";
-- its row in deliveries stays "pending" meanwhile, so marking one adds a
-- small row here instead of rewriting the wide deliveries row (on
-- PostgreSQL a rewrite copies the row and adds an entry to every index).
-- The table holds at most the engines' in-flight deliveries.
CREATE TABLE inflight (
    id         BIGINT PRIMARY KEY, -- the delivery
    node       TEXT NOT NULL,      -- the process that marked it
    started_at BIGINT NOT NULL
);
INSERT INTO inflight (id, node, started_at)
    SELECT id, node, updated_at FROM deliveries WHERE state = 'sending';
UPDATE deliveries SET state = 'pending', attempts = attempts - 1 WHERE state = 'sending';
DROP INDEX deliveries_sending;
-- The node of a delivery in flight is in inflight now.
ALTER TABLE deliveries DROP COLUMN node;
-- Every delivery adds and removes a row: vacuum after every thousand dead
-- rows, not after a fifth of the table, so the table stays a few pages.
ALTER TABLE inflight SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000);
