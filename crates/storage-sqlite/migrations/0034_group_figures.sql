-- Two per-group figures kept on the group's row, so the group list reads one row per group
-- instead of counting every membership and seeking the log once per group (10,000 groups ×
-- 100 members made every page that names groups count a million rows).
-- `members_present` is kept by triggers on memberships, in the same statement as the change:
-- every writer of memberships (ingest, the rebuild's wipe and replay) keeps it without knowing.
-- `last_event_at` is the time of the group's last event in log order, set by ingest once per
-- group and batch.
ALTER TABLE groups ADD COLUMN members_present INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN last_event_at INTEGER;
UPDATE groups SET members_present = (
    SELECT count(*) FROM memberships m
    WHERE m.workspace = groups.workspace AND m.platform = groups.platform AND m.chat = groups.chat AND m.present = 1),
    last_event_at = (
    SELECT e.at FROM events e WHERE e.workspace = groups.workspace AND e.platform = groups.platform AND e.chat = groups.chat
    ORDER BY e.seq DESC LIMIT 1);

CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships WHEN new.present = 1 BEGIN
    UPDATE groups SET members_present = members_present + 1
    WHERE workspace = new.workspace AND platform = new.platform AND chat = new.chat;
END;
CREATE TRIGGER memberships_count_update AFTER UPDATE OF present ON memberships WHEN old.present <> new.present BEGIN
    UPDATE groups SET members_present = members_present + (new.present - old.present)
    WHERE workspace = new.workspace AND platform = new.platform AND chat = new.chat;
END;
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships WHEN old.present = 1 BEGIN
    UPDATE groups SET members_present = members_present - 1
    WHERE workspace = old.workspace AND platform = old.platform AND chat = old.chat;
END;

-- Of each day's leaves, those kicked or banned, counted by ingest like the rest of the day's
-- row: the group table no longer reads the log's leave events (and their JSON) for them.
ALTER TABLE group_days ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
UPDATE group_days SET removed = (
    SELECT count(*) FROM events e
    WHERE e.workspace = group_days.workspace AND e.kind = 'member_left' AND e.day = group_days.day
      AND e.platform = group_days.platform AND e.chat = group_days.chat
      AND json_extract(e.payload, '$.how') IN ('kicked', 'banned'))
WHERE leaves > 0;
DROP INDEX IF EXISTS events_leaves_by_day;

-- Each group's members by the local day they last spoke (never a bot), kept by ingest when a
-- member's first message of a later day moves them: the group table's speakers of today, the
-- week and the month are a sum over the window's days, not a pass over every membership.
ALTER TABLE memberships ADD COLUMN last_spoke_day TEXT;
UPDATE memberships SET last_spoke_day = (
    SELECT max(d.day) FROM member_days d
    WHERE d.workspace = memberships.workspace AND d.platform = memberships.platform
      AND d.chat = memberships.chat AND d.member = memberships.member)
WHERE last_spoke_at IS NOT NULL;
CREATE TABLE speaker_days (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    day TEXT NOT NULL,
    speakers INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day)
) WITHOUT ROWID;
CREATE INDEX speaker_days_by_day ON speaker_days (workspace, day, platform, chat, speakers);
INSERT INTO speaker_days (workspace, platform, chat, day, speakers)
    SELECT m.workspace, m.platform, m.chat, m.last_spoke_day, count(*) FROM memberships m
    WHERE m.last_spoke_day IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = m.workspace AND b.platform = m.platform AND b.member = m.member)
    GROUP BY m.workspace, m.platform, m.chat, m.last_spoke_day;
