-- Invite attribution: who brought each member into each group, kept by an incremental consumer
-- of the log (its watermark is stored with its changes), and members' invite codes.

CREATE TABLE invites (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    invitee TEXT NOT NULL,
    inviter TEXT,
    channel TEXT NOT NULL,
    code TEXT,
    campaign TEXT,
    joined_at BIGINT NOT NULL,
    left_at BIGINT,
    present BOOLEAN NOT NULL,
    PRIMARY KEY (workspace, platform, chat, invitee)
);
CREATE INDEX invites_by_inviter ON invites (workspace, platform, inviter, joined_at);

CREATE TABLE invite_codes (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    campaign TEXT,
    PRIMARY KEY (workspace, code)
);

CREATE TABLE invite_watermarks (workspace BIGINT PRIMARY KEY, seq BIGINT NOT NULL);
