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
