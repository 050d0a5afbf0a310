-- The processes (nodes) running an engine on this store, each under an
-- identity of its own. A running node renews its registration (expires_at)
-- every few seconds; one whose registration expired is dead, and the first
-- node to notice ends it (stopped_at) and settles its deliveries in flight.
-- A node's in-flight deliveries are settled only once its registration has
-- ended, never while it runs.
CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    beat_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    stopped_at BIGINT NOT NULL DEFAULT 0 -- 0 while it runs
);
