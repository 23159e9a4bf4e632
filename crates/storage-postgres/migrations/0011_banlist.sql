-- The brand-wide ban list (黑名单) and the Matrix policy lists a workspace follows.
-- `source` is '' for the brand's own bans, else the policy list's room id.
-- Times are BIGINT microseconds since the Unix epoch (UTC), as everywhere else.
CREATE TABLE bans (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    entity TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at BIGINT NOT NULL,
    UNIQUE (workspace, platform, source, entity)
);
CREATE TABLE ban_revisions (workspace BIGINT PRIMARY KEY, revision BIGINT NOT NULL);
CREATE TABLE policy_lists (
    workspace BIGINT NOT NULL,
    room TEXT NOT NULL,
    mode TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, room)
);
-- Present members of a platform, for carrying a new glob ban out where they are.
CREATE INDEX memberships_present ON memberships (workspace, platform, present);
