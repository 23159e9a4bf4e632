-- Members who have posted as a bot, kept at ingest (same transaction) so speaker counts and
-- member lists leave bots out with one key probe, and the log needs no index that parses every
-- message's JSON on insert.
CREATE TABLE bot_members (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (workspace, platform, member)
);
INSERT INTO bot_members (workspace, platform, member)
    SELECT DISTINCT workspace, platform, member FROM events
    WHERE kind = 'message_posted' AND (payload::jsonb ->> 'from_bot') = 'true' AND member IS NOT NULL
    ON CONFLICT DO NOTHING;
DROP INDEX IF EXISTS reports_events_bot_posts;

-- What each connector's guardian remembers, level with the log position `seq` (guard_memory.rs).
CREATE TABLE guard_memories (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    seq BIGINT NOT NULL,
    taken_at BIGINT NOT NULL,
    memory TEXT NOT NULL,
    PRIMARY KEY (workspace, platform)
);
