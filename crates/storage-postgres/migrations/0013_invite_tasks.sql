-- Invite tasks (任务宝): each campaign's invitees and prizes, kept by an incremental consumer of
-- the log whose watermark is stored with them, and the invite page's referrals.

CREATE TABLE task_invites (
    workspace BIGINT NOT NULL,
    campaign TEXT NOT NULL,
    chat TEXT NOT NULL,
    invitee TEXT NOT NULL,
    inviter TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    posted_at BIGINT,
    state TEXT NOT NULL,
    -- Comma-separated flag names (empty: none).
    flags TEXT NOT NULL,
    counted_at BIGINT,
    left_at BIGINT,
    PRIMARY KEY (workspace, campaign, chat, invitee)
);

CREATE TABLE task_prizes (
    workspace BIGINT NOT NULL,
    campaign TEXT NOT NULL,
    inviter TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    round BIGINT NOT NULL,
    state TEXT NOT NULL,
    chat TEXT NOT NULL,
    earned_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    decided_by TEXT,
    note TEXT NOT NULL,
    -- The prize as JSON (points or a coupon offer).
    prize TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (workspace, campaign, inviter, threshold)
);
-- The review queue and per-campaign lists read by state, newest first.
CREATE INDEX task_prizes_by_state ON task_prizes (workspace, state, earned_at);

CREATE TABLE task_watermarks (workspace BIGINT PRIMARY KEY, seq BIGINT NOT NULL);

CREATE TABLE page_referrals (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    visitor TEXT NOT NULL,
    code TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, visitor)
);

-- Whether an invitee is present in another group: the invites read model by invitee.
CREATE INDEX invites_by_invitee ON invites (workspace, platform, invitee);
