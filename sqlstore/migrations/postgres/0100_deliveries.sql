-- Notifications and their per-recipient deliveries. Times are integer
-- microseconds since the Unix epoch (0 = never).

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT,
    msg_key         TEXT NOT NULL DEFAULT '',
    request         TEXT NOT NULL,
    priority        TEXT NOT NULL DEFAULT '',
    at_least_once   BOOLEAN NOT NULL DEFAULT false,
    state           TEXT NOT NULL,
    expanded        BOOLEAN NOT NULL DEFAULT false,
    cursor          TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    completed_at    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX notifications_idempotency ON notifications (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX notifications_state ON notifications (state, id);

CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    tenant_id       TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    channel_id      TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    service_url     TEXT NOT NULL DEFAULT '',
    reply_to_id     TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    variables       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    attempts        BIGINT NOT NULL DEFAULT 0,
    throttles       BIGINT NOT NULL DEFAULT 0,
    next_at         BIGINT NOT NULL DEFAULT 0,
    activity_id     TEXT NOT NULL DEFAULT '',
    updated         BOOLEAN NOT NULL DEFAULT false,
    node            TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (notification_id, recipient)
);
-- Indexes are chosen so that a delivery's life (pending → sending → final)
-- touches few index entries: the partial ones hold only the deliveries
-- waiting or in flight. (Every update of a row adds an entry to each
-- index, so there is no separate index on (notification_id, id): a
-- notification's deliveries are listed through the primary key and
-- counted through the unique index.)
CREATE INDEX deliveries_pending ON deliveries (notification_id, tenant_id, id) WHERE state = 'pending';
CREATE INDEX deliveries_sending ON deliveries (notification_id) WHERE state = 'sending';

CREATE TABLE message_keys (
    msg_key         TEXT NOT NULL,
    target          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    tenant_id       TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    channel_id      TEXT NOT NULL DEFAULT '',
    service_url     TEXT NOT NULL DEFAULT '',
    notification_id TEXT NOT NULL DEFAULT '',
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (msg_key, target)
);
