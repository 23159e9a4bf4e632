-- Landing pages (issue #14.2): counters per page and channel, bumped as visitors act (a read
-- model, never counted from history), and the leads: a phone number sealed by the operations
-- layer (AEAD ciphertext) with a keyed hash for finding the same phone again; no number in clear.
CREATE TABLE landing_counters (
    workspace INTEGER NOT NULL,
    page TEXT NOT NULL,
    channel TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    phones INTEGER NOT NULL DEFAULT 0,
    joins INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace, page, channel)
);

CREATE TABLE landing_leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace INTEGER NOT NULL,
    page TEXT NOT NULL,
    channel TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    cipher TEXT NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (workspace, page, phone_hash)
);

CREATE INDEX landing_leads_by_page ON landing_leads (workspace, page, at);
CREATE INDEX landing_leads_by_hash ON landing_leads (workspace, phone_hash);
