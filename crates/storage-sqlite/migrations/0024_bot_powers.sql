-- What the bot may do in each group (Matrix: from the room's power levels), one row per
-- group, written by ingest from `bot_powers` events; the newest report wins.

CREATE TABLE bot_powers (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    level INTEGER NOT NULL,
    can_redact INTEGER NOT NULL,
    can_kick INTEGER NOT NULL,
    can_ban INTEGER NOT NULL,
    can_mute INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, chat)
);
