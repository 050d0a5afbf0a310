-- API keys made with `herald keys create` or POST /v1/keys: the hex
-- SHA-256 of each key (never the key), its scopes and send limits (JSON
-- arrays of strings) and its times (0: never).
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    topics       TEXT NOT NULL DEFAULT '[]',
    audiences    TEXT NOT NULL DEFAULT '[]',
    critical     BOOLEAN NOT NULL DEFAULT false,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
-- created_by and created_by_name are the API key a notification came
-- with (herald.Notification.CreatedBy); '' for the bot's own and older ones.
ALTER TABLE notifications ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN created_by_name TEXT NOT NULL DEFAULT '';
