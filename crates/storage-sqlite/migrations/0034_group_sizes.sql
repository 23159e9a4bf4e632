-- Each group's present members, kept by triggers on memberships in the same statement as the
-- change, so the group list is one row per group instead of a count over every membership
-- (10,000 groups × 100 members made every page that names groups count a million rows).
-- Triggers rather than code in ingest: every writer of memberships (ingest, the rebuild's
-- wipe and replay) keeps the count without knowing about it.
ALTER TABLE groups ADD COLUMN members_present INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET members_present = (
    SELECT count(*) FROM memberships m
    WHERE m.workspace = groups.workspace AND m.platform = groups.platform AND m.chat = groups.chat AND m.present = 1);

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
