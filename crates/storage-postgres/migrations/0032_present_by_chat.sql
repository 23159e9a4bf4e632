-- The directory's group list counts each group's present members on every read (the engine's
-- watchers read it every few seconds); at 10,000 groups of 100 that was a million table rows per
-- read. This partial index makes the count an index-only range per group, and it changes only
-- when a member comes or goes, not when they speak.
CREATE INDEX memberships_present_by_chat ON memberships (workspace, platform, chat) WHERE present = 1;
