-- SOP read models kept by the incremental consumer (watermark in the same transaction).
CREATE TABLE sop_watermarks (
    workspace BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE checkin_streaks (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    member TEXT NOT NULL,
    last_day TEXT NOT NULL,
    streak BIGINT NOT NULL,
    total BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, member)
);

CREATE TABLE checkin_posts (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, message_id)
);
CREATE INDEX checkin_posts_at ON checkin_posts (workspace, at);

CREATE TABLE group_first_seen (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, chat)
);

CREATE TABLE push_renders (
    action BIGINT PRIMARY KEY,
    workspace BIGINT NOT NULL,
    chat TEXT NOT NULL,
    rendered_at BIGINT NOT NULL,
    text TEXT NOT NULL,
    reach BIGINT NOT NULL,
    replies BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX push_renders_at ON push_renders (workspace, rendered_at);

-- The calendar and 推送效果 read SOP pushes by time.
CREATE INDEX actions_by_origin_time ON actions (workspace, origin, not_before);
