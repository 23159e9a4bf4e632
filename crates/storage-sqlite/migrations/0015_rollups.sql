-- Analytics read models, kept by an incremental consumer of the log whose watermark is stored
-- with the rows it wrote (no query here rescans the log). Days are the workspace's local days.

CREATE TABLE rollup_watermarks (workspace INTEGER PRIMARY KEY, seq INTEGER NOT NULL);

-- Members present now, per group (the running size behind members_end).
CREATE TABLE rollup_groups (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, members INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat)
);

CREATE TABLE rollup_days (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, day TEXT NOT NULL,
    members_end INTEGER NOT NULL, joins_invited INTEGER NOT NULL, joins_link INTEGER NOT NULL,
    joins_knock INTEGER NOT NULL, joins_direct INTEGER NOT NULL, left_count INTEGER NOT NULL, removed INTEGER NOT NULL,
    speakers INTEGER NOT NULL, messages INTEGER NOT NULL, checkins INTEGER NOT NULL, invites INTEGER NOT NULL,
    orders INTEGER NOT NULL, revenue_cents INTEGER NOT NULL,
    -- Messages per local hour: 24 comma-separated counts.
    hours TEXT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day)
);
CREATE INDEX rollup_days_by_day ON rollup_days (workspace, day);

-- One member in one group: acquisition, activity weeks (a bit per week after the join), spend.
CREATE TABLE rollup_members (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL,
    joined_at INTEGER, channel TEXT, campaign TEXT, inviter TEXT, present INTEGER NOT NULL,
    first_active_at INTEGER, last_active_at INTEGER, active_weeks INTEGER NOT NULL, messages INTEGER NOT NULL,
    checkins INTEGER NOT NULL, orders INTEGER NOT NULL, spend_cents INTEGER NOT NULL, first_order_at INTEGER,
    referrals_stayed INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat, member)
);
CREATE INDEX rollup_members_by_join ON rollup_members (workspace, joined_at);

CREATE TABLE rollup_member_days (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, chat TEXT NOT NULL, member TEXT NOT NULL,
    day TEXT NOT NULL, messages INTEGER NOT NULL, checkins INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat, day, member)
);
