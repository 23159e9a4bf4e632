-- The event log, derived state, outbox, accounts, documents and links.
-- Times are BIGINT microseconds since the Unix epoch (UTC); days are TEXT 'YYYY-MM-DD'.

CREATE TABLE workspaces (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL
);

CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    key TEXT NOT NULL,
    chat TEXT NOT NULL,
    kind TEXT NOT NULL,
    member TEXT,
    at BIGINT NOT NULL,
    day TEXT NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (workspace, platform, key)
);
CREATE INDEX events_by_chat ON events (workspace, chat, seq);
CREATE INDEX events_by_time ON events (workspace, at);
CREATE INDEX events_join_requests ON events (workspace, chat, member) WHERE kind = 'join_requested';

-- Same shape as events with nothing enforced: the floor of `qunzhu bench ingest`.
CREATE TABLE bench_baseline (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, key TEXT NOT NULL, chat TEXT NOT NULL,
    kind TEXT NOT NULL, member TEXT, at BIGINT NOT NULL, day TEXT NOT NULL, payload TEXT NOT NULL
);

CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE cursors (connector TEXT PRIMARY KEY, cursor TEXT NOT NULL);

CREATE TABLE groups (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    name TEXT NOT NULL,
    group_type TEXT NOT NULL DEFAULT 'traffic',
    status TEXT NOT NULL DEFAULT 'active',
    capacity BIGINT NOT NULL DEFAULT 500,
    tags TEXT NOT NULL DEFAULT '[]',
    positioning TEXT NOT NULL DEFAULT '{}',
    UNIQUE (workspace, platform, chat)
);

CREATE TABLE members (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    tier TEXT NOT NULL DEFAULT 'regular',
    tags TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (workspace, platform, user_id)
);

CREATE TABLE memberships (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    member TEXT NOT NULL,
    display_name TEXT,
    present BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT,
    left_at BIGINT,
    last_spoke_at BIGINT,
    messages BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, member)
);
CREATE INDEX memberships_by_member ON memberships (workspace, platform, member);

CREATE TABLE member_days (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL, day TEXT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, member, day)
);

CREATE TABLE group_days (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, day TEXT NOT NULL,
    joins BIGINT NOT NULL DEFAULT 0, leaves BIGINT NOT NULL DEFAULT 0,
    messages BIGINT NOT NULL DEFAULT 0, speakers BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, day)
);

CREATE TABLE actions (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    origin TEXT NOT NULL,
    cause TEXT,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    expires_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    done_at BIGINT,
    last_error TEXT,
    receipt TEXT
);
CREATE INDEX actions_due ON actions (platform, target, status, next_attempt_at);
CREATE INDEX actions_by_workspace ON actions (workspace, id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_by_workspace ON audit (workspace, id);

CREATE TABLE documents (
    workspace BIGINT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    source TEXT NOT NULL, version BIGINT NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL,
    PRIMARY KEY (workspace, kind, name)
);

CREATE TABLE links (
    code TEXT PRIMARY KEY, workspace BIGINT NOT NULL, url TEXT NOT NULL, push TEXT NOT NULL,
    chat TEXT NOT NULL, member TEXT, created_at BIGINT NOT NULL
);
CREATE INDEX links_by_push ON links (workspace, push);
CREATE TABLE link_clicks (id BIGSERIAL PRIMARY KEY, code TEXT NOT NULL, at BIGINT NOT NULL, visitor TEXT NOT NULL);
CREATE INDEX link_clicks_by_code ON link_clicks (code);
