-- The brand-wide ban list (黑名单) and the Matrix policy lists a workspace follows.
-- `source` is '' for the brand's own bans, else the policy list's room id.
-- Times are INTEGER microseconds since the Unix epoch (UTC), as everywhere else.
CREATE TABLE bans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    entity TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at INTEGER NOT NULL,
    UNIQUE (workspace, platform, source, entity)
);
CREATE TABLE ban_revisions (workspace INTEGER PRIMARY KEY, revision INTEGER NOT NULL);
CREATE TABLE policy_lists (
    workspace INTEGER NOT NULL,
    room TEXT NOT NULL,
    mode TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, room)
);
-- Present members of a platform, for carrying a new glob ban out where they are.
CREATE INDEX memberships_present ON memberships (workspace, platform, present);
