-- Coupons bound to one member: issued once per key, redeemed once.

CREATE TABLE coupons (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    key TEXT NOT NULL,
    code TEXT NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    offer TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    memo TEXT NOT NULL,
    redeemed_at BIGINT,
    redeemed_request TEXT,
    UNIQUE (workspace, key),
    UNIQUE (workspace, code)
);
CREATE INDEX coupons_by_member ON coupons (workspace, platform, member, id);
