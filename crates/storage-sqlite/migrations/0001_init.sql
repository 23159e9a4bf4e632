-- The event log, derived state, outbox, accounts, documents and links.
-- Times are INTEGER microseconds since the Unix epoch (UTC); days are TEXT 'YYYY-MM-DD'.

CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    key TEXT NOT NULL,
    chat TEXT NOT NULL,
    kind TEXT NOT NULL,
    member TEXT,
    at INTEGER NOT NULL,
    day TEXT NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (workspace, platform, key)
);
CREATE INDEX events_by_chat ON events (workspace, chat, seq);
CREATE INDEX events_by_time ON events (workspace, at);
CREATE INDEX events_join_requests ON events (workspace, chat, member) WHERE kind = 'join_requested';

-- Same shape as events with nothing enforced: the floor of `qunzhu bench ingest`.
CREATE TABLE bench_baseline (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, key TEXT NOT NULL, chat TEXT NOT NULL,
    kind TEXT NOT NULL, member TEXT, at INTEGER NOT NULL, day TEXT NOT NULL, payload TEXT NOT NULL
);

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE cursors (connector TEXT PRIMARY KEY, cursor TEXT NOT NULL);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    name TEXT NOT NULL,
    group_type TEXT NOT NULL DEFAULT 'traffic',
    status TEXT NOT NULL DEFAULT 'active',
    capacity INTEGER NOT NULL DEFAULT 500,
    tags TEXT NOT NULL DEFAULT '[]',
    positioning TEXT NOT NULL DEFAULT '{}',
    UNIQUE (workspace, platform, chat)
);

CREATE TABLE members (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    user TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    tier TEXT NOT NULL DEFAULT 'regular',
    tags TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (workspace, platform, user)
);

CREATE TABLE memberships (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    member TEXT NOT NULL,
    display_name TEXT,
    present INTEGER NOT NULL DEFAULT 0,
    joined_at INTEGER,
    left_at INTEGER,
    last_spoke_at INTEGER,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, member)
);
CREATE INDEX memberships_by_member ON memberships (workspace, platform, member);

CREATE TABLE member_days (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL, day TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, member, day)
);

CREATE TABLE group_days (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, day TEXT NOT NULL,
    joins INTEGER NOT NULL DEFAULT 0, leaves INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0, speakers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, day)
);

CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    origin TEXT NOT NULL,
    cause TEXT,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    expires_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    done_at INTEGER,
    last_error TEXT,
    receipt TEXT
);
CREATE INDEX actions_due ON actions (platform, target, status, next_attempt_at);
CREATE INDEX actions_by_workspace ON actions (workspace, id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_by_workspace ON audit (workspace, id);

CREATE TABLE documents (
    workspace INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    source TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL,
    PRIMARY KEY (workspace, kind, name)
);

CREATE TABLE links (
    code TEXT PRIMARY KEY, workspace INTEGER NOT NULL, url TEXT NOT NULL, push TEXT NOT NULL,
    chat TEXT NOT NULL, member TEXT, created_at INTEGER NOT NULL
);
CREATE INDEX links_by_push ON links (workspace, push);
CREATE TABLE link_clicks (id INTEGER PRIMARY KEY, code TEXT NOT NULL, at INTEGER NOT NULL, visitor TEXT NOT NULL);
CREATE INDEX link_clicks_by_code ON link_clicks (code);
