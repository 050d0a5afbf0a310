-- Directory: everyone and everything the bot can reach. Times are integer
-- microseconds since the Unix epoch (0 = never).

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    service_url TEXT NOT NULL DEFAULT '',
    last_seen   BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL DEFAULT '',
    aad_object_id   TEXT NOT NULL DEFAULT '',
    upn             TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL DEFAULT '',
    given_name      TEXT NOT NULL DEFAULT '',
    surname         TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    service_url     TEXT NOT NULL DEFAULT '',
    installed       BOOLEAN NOT NULL DEFAULT false,
    blocked         BOOLEAN NOT NULL DEFAULT false,
    uninstalled     BOOLEAN NOT NULL DEFAULT false,
    installed_at    BIGINT NOT NULL DEFAULT 0,
    uninstalled_at  BIGINT NOT NULL DEFAULT 0,
    locale          TEXT NOT NULL DEFAULT '',
    time_zone       TEXT NOT NULL DEFAULT '',
    last_seen       BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id, id);
CREATE INDEX users_aad ON users (lower(aad_object_id));
CREATE INDEX users_upn ON users (lower(upn));
CREATE INDEX users_email ON users (lower(email));

CREATE TABLE teams (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL DEFAULT '',
    aad_group_id       TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL DEFAULT '',
    general_channel_id TEXT NOT NULL DEFAULT '',
    service_url        TEXT NOT NULL DEFAULT '',
    installed          BOOLEAN NOT NULL DEFAULT false,
    archived           BOOLEAN NOT NULL DEFAULT false,
    deleted            BOOLEAN NOT NULL DEFAULT false,
    installed_at       BIGINT NOT NULL DEFAULT 0,
    roster_at          BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX teams_aad ON teams (lower(aad_group_id));
CREATE INDEX teams_name ON teams (lower(name));

CREATE TABLE channels (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL DEFAULT '',
    deleted    BOOLEAN NOT NULL DEFAULT false,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX channels_team ON channels (team_id, id);

CREATE TABLE memberships (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL DEFAULT '',
    tenant_id   TEXT NOT NULL DEFAULT '',
    service_url TEXT NOT NULL DEFAULT '',
    team_id     TEXT NOT NULL DEFAULT '',
    channel_id  TEXT NOT NULL DEFAULT '',
    user_id     TEXT NOT NULL DEFAULT '',
    bot_id      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE preferences (
    user_id    TEXT NOT NULL,
    topic      TEXT NOT NULL,
    opted_out  BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, topic)
);

CREATE TABLE welcomes (
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    welcomed_at BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);

CREATE TABLE bot_tasks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '',
    attempts   BIGINT NOT NULL DEFAULT 0,
    run_after  BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX bot_tasks_due ON bot_tasks (run_after);
