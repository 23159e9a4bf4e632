-- Tracked-link clicks per group and local day, folded from link_clicks after their own
-- watermark (the click id), beside the event rollups of 0015 rather than inside them.
CREATE TABLE rollup_click_watermarks (workspace INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE rollup_clicks (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, day TEXT NOT NULL,
    clicks INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day)
);
CREATE INDEX rollup_clicks_by_day ON rollup_clicks (workspace, day);

-- Member tiers from behaviour: the inputs the rules last saw and the tier they gave, per
-- member across the workspace's groups; review_at is when the activity window next forgets
-- one of the member's active days (the keeper looks again then, without an event).
CREATE TABLE member_tiers (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, member TEXT NOT NULL,
    tier TEXT NOT NULL, spend_cents INTEGER NOT NULL, points INTEGER NOT NULL,
    active_days INTEGER NOT NULL, checkins INTEGER NOT NULL, review_at INTEGER,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, member)
);
CREATE INDEX member_tiers_by_tier ON member_tiers (workspace, tier, spend_cents);
CREATE INDEX member_tiers_by_review ON member_tiers (workspace, review_at) WHERE review_at IS NOT NULL;
-- The keeper follows the log (messages, orders) and the ledger (points) after its marks.
CREATE TABLE tier_watermarks (workspace INTEGER PRIMARY KEY, events_seq INTEGER NOT NULL, ledger_id INTEGER NOT NULL);
-- A member's rows across groups, for the tier inputs and the KOL and lurker views.
CREATE INDEX rollup_members_by_member ON rollup_members (workspace, platform, member);
CREATE INDEX rollup_member_days_by_member ON rollup_member_days (workspace, platform, member, day);
