-- Invite tasks (任务宝): each campaign's invitees and prizes, kept by an incremental consumer of
-- the log whose watermark is stored with them, and the invite page's referrals.

CREATE TABLE task_invites (
    workspace INTEGER NOT NULL,
    campaign TEXT NOT NULL,
    chat TEXT NOT NULL,
    invitee TEXT NOT NULL,
    inviter TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    posted_at INTEGER,
    state TEXT NOT NULL,
    -- Comma-separated flag names (empty: none).
    flags TEXT NOT NULL,
    counted_at INTEGER,
    left_at INTEGER,
    PRIMARY KEY (workspace, campaign, chat, invitee)
);

CREATE TABLE task_prizes (
    workspace INTEGER NOT NULL,
    campaign TEXT NOT NULL,
    inviter TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    round INTEGER NOT NULL,
    state TEXT NOT NULL,
    chat TEXT NOT NULL,
    earned_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    decided_by TEXT,
    note TEXT NOT NULL,
    -- The prize as JSON (points or a coupon offer).
    prize TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (workspace, campaign, inviter, threshold)
);
-- The review queue and per-campaign lists read by state, newest first.
CREATE INDEX task_prizes_by_state ON task_prizes (workspace, state, earned_at);

CREATE TABLE task_watermarks (workspace INTEGER PRIMARY KEY, seq INTEGER NOT NULL);

CREATE TABLE page_referrals (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    visitor TEXT NOT NULL,
    code TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat, visitor)
);

-- Whether an invitee is present in another group: the invites read model by invitee.
CREATE INDEX invites_by_invitee ON invites (workspace, platform, invitee);
