-- Coupons bound to one member: issued once per key, redeemed once.

CREATE TABLE coupons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace INTEGER NOT NULL,
    key TEXT NOT NULL,
    code TEXT NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    offer TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    memo TEXT NOT NULL,
    redeemed_at INTEGER,
    redeemed_request TEXT,
    UNIQUE (workspace, key),
    UNIQUE (workspace, code)
);
CREATE INDEX coupons_by_member ON coupons (workspace, platform, member, id);
