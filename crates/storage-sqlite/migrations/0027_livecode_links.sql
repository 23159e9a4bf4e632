-- Live-code join links (issue #14): one platform invite link per (code, group, channel) — a
-- Telegram invite link, created once through the outbox (its action key) — or one WeCom join way
-- per (code, channel) over the set's groups (chat ''), kept with its url once the platform made
-- it. The name is what the platform reports on a join, so it is unique per group.
CREATE TABLE livecode_links (
    workspace INTEGER NOT NULL,
    code TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    url TEXT,
    -- The platform's id of the link where it has one to update later (a WeCom join way's config_id).
    handle TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, code, chat, channel)
);
-- A join's link name back to its code and channel.
CREATE UNIQUE INDEX livecode_links_by_name ON livecode_links (workspace, platform, chat, name);
