-- Every index on the log is paid by every insert. Two serve no read any more: leaves per day
-- read `events_leaves_by_day` (0030), waiting join requests read `pending_join_requests`.
DROP INDEX IF EXISTS reports_events_by_kind_day;
DROP INDEX IF EXISTS events_join_requests;

-- Two derived tables ingest upserts on every batch are clustered by their key (WITHOUT ROWID):
-- an upsert then writes one b-tree instead of the table and its key index, and their indexes
-- by day cover the reads. (`memberships` stays a rowid table: the planner would read it by
-- its key prefix where a join needs it by member.)
CREATE TABLE member_days_by_key (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL, day TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, member, day)
) WITHOUT ROWID;
INSERT INTO member_days_by_key SELECT workspace, platform, chat, member, day, messages FROM member_days;
DROP TABLE member_days;
ALTER TABLE member_days_by_key RENAME TO member_days;
CREATE INDEX reports_member_days_by_day ON member_days (workspace, day);

CREATE TABLE group_days_by_key (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, day TEXT NOT NULL,
    joins INTEGER NOT NULL DEFAULT 0, leaves INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0, speakers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, platform, chat, day)
) WITHOUT ROWID;
INSERT INTO group_days_by_key SELECT workspace, platform, chat, day, joins, leaves, messages, speakers FROM group_days;
DROP TABLE group_days;
ALTER TABLE group_days_by_key RENAME TO group_days;
-- The group table reads 30 days of every group's counts: by day, not a scan of all history.
CREATE INDEX group_days_by_day ON group_days (workspace, day);
