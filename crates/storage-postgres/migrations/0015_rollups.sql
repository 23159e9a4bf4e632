-- Analytics read models, kept by an incremental consumer of the log whose watermark is stored
-- with the rows it wrote (no query here rescans the log). Days are the workspace's local days.

CREATE TABLE rollup_watermarks (workspace BIGINT PRIMARY KEY, seq BIGINT NOT NULL);

-- Members present now, per group (the running size behind members_end).
CREATE TABLE rollup_groups (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, members BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat)
);

CREATE TABLE rollup_days (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, day TEXT NOT NULL,
    members_end BIGINT NOT NULL, joins_invited BIGINT NOT NULL, joins_link BIGINT NOT NULL,
    joins_knock BIGINT NOT NULL, joins_direct BIGINT NOT NULL, left_count BIGINT NOT NULL, removed BIGINT NOT NULL,
    speakers BIGINT NOT NULL, messages BIGINT NOT NULL, checkins BIGINT NOT NULL, invites BIGINT NOT NULL,
    orders BIGINT NOT NULL, revenue_cents BIGINT NOT NULL,
    -- Messages per local hour: 24 comma-separated counts.
    hours TEXT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day)
);
CREATE INDEX rollup_days_by_day ON rollup_days (workspace, day);

-- One member in one group: acquisition, activity weeks (a bit per week after the join), spend.
CREATE TABLE rollup_members (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL,
    joined_at BIGINT, channel TEXT, campaign TEXT, inviter TEXT, present BIGINT NOT NULL,
    first_active_at BIGINT, last_active_at BIGINT, active_weeks BIGINT NOT NULL, messages BIGINT NOT NULL,
    checkins BIGINT NOT NULL, orders BIGINT NOT NULL, spend_cents BIGINT NOT NULL, first_order_at BIGINT,
    referrals_stayed BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, member)
);
CREATE INDEX rollup_members_by_join ON rollup_members (workspace, joined_at);

CREATE TABLE rollup_member_days (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL,
    day TEXT NOT NULL, messages BIGINT NOT NULL, checkins BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day, member)
);
