-- Invite attribution: who brought each member into each group, kept by an incremental consumer
-- of the log (its watermark is stored with its changes), and members' invite codes.

CREATE TABLE invites (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    invitee TEXT NOT NULL,
    inviter TEXT,
    channel TEXT NOT NULL,
    code TEXT,
    campaign TEXT,
    joined_at INTEGER NOT NULL,
    left_at INTEGER,
    present INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat, invitee)
);
CREATE INDEX invites_by_inviter ON invites (workspace, platform, inviter, joined_at);

CREATE TABLE invite_codes (
    workspace INTEGER NOT NULL,
    code TEXT NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    campaign TEXT,
    PRIMARY KEY (workspace, code)
);

CREATE TABLE invite_watermarks (workspace INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
