-- Indexes the console's reports read through (ReportStore), so none of them scans the log.
CREATE INDEX events_by_kind_day ON events (workspace, kind, day);
CREATE INDEX events_by_member ON events (workspace, platform, member, seq);
CREATE INDEX events_bot_posts ON events (workspace, platform, member)
    WHERE kind = 'message_posted' AND (payload::jsonb ->> 'from_bot') = 'true';
CREATE INDEX member_days_by_day ON member_days (workspace, day);
CREATE INDEX actions_by_origin_time ON actions (workspace, origin, created_at);
CREATE INDEX actions_by_time ON actions (workspace, created_at);
CREATE INDEX actions_by_due ON actions (workspace, not_before);
CREATE INDEX checkins_by_member ON actions (workspace, platform, (payload::jsonb ->> 'member'))
    WHERE origin = 'checkin' AND kind = 'grant_reward';
CREATE INDEX link_clicks_by_time ON link_clicks (at);
CREATE INDEX links_by_member ON links (workspace, member) WHERE member IS NOT NULL;
