-- What the bot may do in each group (Matrix: from the room's power levels), one row per
-- group, written by ingest from `bot_powers` events; the newest report wins.

CREATE TABLE bot_powers (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    level BIGINT NOT NULL,
    can_redact BOOLEAN NOT NULL,
    can_kick BOOLEAN NOT NULL,
    can_ban BOOLEAN NOT NULL,
    can_mute BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat)
);
