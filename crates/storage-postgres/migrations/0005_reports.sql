-- Indexes the console's reports read through (ReportStore), so none of them scans the log.
CREATE INDEX reports_events_by_kind_day ON events (workspace, kind, day);
CREATE INDEX reports_events_by_member ON events (workspace, platform, member, seq);
CREATE INDEX reports_events_bot_posts ON events (workspace, platform, member)
    WHERE kind = 'message_posted' AND (payload::jsonb ->> 'from_bot') = 'true';
CREATE INDEX reports_member_days_by_day ON member_days (workspace, day);
CREATE INDEX reports_actions_by_origin_time ON actions (workspace, origin, created_at);
CREATE INDEX reports_actions_by_time ON actions (workspace, created_at);
CREATE INDEX reports_actions_by_due ON actions (workspace, not_before);
CREATE INDEX reports_checkins_by_member ON actions (workspace, platform, (payload::jsonb ->> 'member'))
    WHERE origin = 'checkin' AND kind = 'grant_reward';
CREATE INDEX reports_link_clicks_by_time ON link_clicks (at);
CREATE INDEX reports_links_by_member ON links (workspace, member) WHERE member IS NOT NULL;
