-- Two per-group figures kept on the group's row, so the group list reads one row per group
-- instead of counting every membership and seeking the log once per group.
-- `members_present` is kept by a trigger on memberships, in the same statement as the change:
-- every writer of memberships (ingest, the rebuild's wipe and replay) keeps it without knowing.
-- `last_event_at` is the time of the group's last event in log order, set by ingest once per
-- group and batch.
ALTER TABLE groups ADD COLUMN members_present BIGINT NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN last_event_at BIGINT;
UPDATE groups g SET members_present = (
    SELECT count(*) FROM memberships m
    WHERE m.workspace = g.workspace AND m.platform = g.platform AND m.chat = g.chat AND m.present = 1),
    last_event_at = (
    SELECT e.at FROM events e WHERE e.workspace = g.workspace AND e.platform = g.platform AND e.chat = g.chat
    ORDER BY e.seq DESC LIMIT 1);

CREATE FUNCTION memberships_count_present() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := 0;
    row_of memberships;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := NEW.present; row_of := NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        delta := NEW.present - OLD.present; row_of := NEW;
    ELSE
        delta := -OLD.present; row_of := OLD;
    END IF;
    IF delta <> 0 THEN
        UPDATE groups SET members_present = members_present + delta
        WHERE workspace = row_of.workspace AND platform = row_of.platform AND chat = row_of.chat;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memberships_count AFTER INSERT OR DELETE OR UPDATE OF present ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_count_present();

-- Of each day's leaves, those kicked or banned, counted by ingest like the rest of the day's
-- row: the group table no longer reads the log's leave events (and their JSON) for them.
ALTER TABLE group_days ADD COLUMN removed BIGINT NOT NULL DEFAULT 0;
UPDATE group_days d SET removed = (
    SELECT count(*) FROM events e
    WHERE e.workspace = d.workspace AND e.kind = 'member_left' AND e.day = d.day
      AND e.platform = d.platform AND e.chat = d.chat
      AND (e.payload::jsonb ->> 'how') IN ('kicked', 'banned'))
WHERE leaves > 0;
DROP INDEX IF EXISTS events_leaves_by_day;

-- Each group's members by the local day they last spoke (never a bot), kept by ingest when a
-- member's first message of a later day moves them: the group table's speakers of today, the
-- week and the month are a sum over the window's days, not a pass over every membership.
ALTER TABLE memberships ADD COLUMN last_spoke_day TEXT;
UPDATE memberships m SET last_spoke_day = (
    SELECT max(d.day) FROM member_days d
    WHERE d.workspace = m.workspace AND d.platform = m.platform AND d.chat = m.chat AND d.member = m.member)
WHERE last_spoke_at IS NOT NULL;
CREATE TABLE speaker_days (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    day TEXT NOT NULL,
    speakers BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day)
);
CREATE INDEX speaker_days_by_day ON speaker_days (workspace, day);
INSERT INTO speaker_days (workspace, platform, chat, day, speakers)
    SELECT m.workspace, m.platform, m.chat, m.last_spoke_day, count(*) FROM memberships m
    WHERE m.last_spoke_day IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = m.workspace AND b.platform = m.platform AND b.member = m.member)
    GROUP BY m.workspace, m.platform, m.chat, m.last_spoke_day;
