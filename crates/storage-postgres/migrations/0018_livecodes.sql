-- Live codes 活码 (issue #14.1): each code's document (the code is global: the public link
-- /j/{code} names no workspace), the seats it hands out (one per visitor and code, counted
-- against capacity in the transaction that takes it), scans per channel, spare groups and alerts.
CREATE TABLE livecodes (
    code TEXT PRIMARY KEY,
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX livecodes_by_workspace ON livecodes (workspace, code);

CREATE TABLE livecode_seats (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    visitor TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    channel TEXT NOT NULL,
    at BIGINT NOT NULL,
    hold_until BIGINT NOT NULL,
    PRIMARY KEY (workspace, code, visitor)
);
-- Seats held in a group (capacity) and a member's seat in a group (attribution).
CREATE INDEX livecode_seats_by_chat ON livecode_seats (workspace, platform, chat, visitor);

CREATE TABLE livecode_scans (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    channel TEXT NOT NULL,
    scans BIGINT NOT NULL,
    PRIMARY KEY (workspace, code, channel)
);

CREATE TABLE livecode_spares (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    key TEXT NOT NULL,
    chat TEXT,
    planned_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, code, sequence)
);

CREATE TABLE livecode_alerts (
    workspace BIGINT NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    message TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, code, kind, sequence)
);
