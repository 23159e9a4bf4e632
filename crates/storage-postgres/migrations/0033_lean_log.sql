-- Every index on the log is paid by every insert. The leaves per day read a partial index
-- holding only leave events (as on SQLite since 0030) instead of one over every event's kind
-- and day; waiting join requests read `pending_join_requests`, not the log.
CREATE INDEX events_leaves_by_day ON events (workspace, day, platform, chat)
    WHERE kind = 'member_left';
DROP INDEX IF EXISTS reports_events_by_kind_day;
DROP INDEX IF EXISTS events_join_requests;
-- The group table reads 30 days of every group's counts: by day, not a scan of all history.
CREATE INDEX group_days_by_day ON group_days (workspace, day);
