-- Member tags from poll answers (issue #16.5): each member's current answer to each tagged
-- poll, so a changed or retracted answer takes back exactly what it gave, and the consumer's
-- watermark, written in the same transaction.
CREATE TABLE poll_tag_watermarks (
    workspace INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);

CREATE TABLE poll_answers (
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    poll TEXT NOT NULL,
    tags TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, member, poll)
);
