-- Orders from the signed webhook with their attribution (one row per order id), the webhook's
-- nonces, the showcase consumer's watermark, campaign costs, group owners and commissions.

CREATE TABLE orders (
    workspace BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    member TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    items TEXT NOT NULL,
    coupon TEXT,
    link_token TEXT,
    refund_of TEXT,
    at BIGINT NOT NULL,
    chat TEXT,
    push TEXT,
    campaign TEXT,
    live_code TEXT,
    inviter TEXT,
    showcase_until BIGINT,
    showcase_message TEXT,
    showcase_at BIGINT,
    PRIMARY KEY (workspace, order_id)
);
CREATE INDEX orders_by_time ON orders (workspace, at);
CREATE INDEX orders_by_push ON orders (workspace, push) WHERE push IS NOT NULL;
CREATE INDEX orders_by_campaign ON orders (workspace, campaign) WHERE campaign IS NOT NULL;
CREATE INDEX orders_open_showcases ON orders (workspace, showcase_until) WHERE showcase_message IS NULL AND showcase_until IS NOT NULL;

CREATE TABLE order_nonces (
    workspace BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, nonce)
);
CREATE INDEX order_nonces_by_expiry ON order_nonces (expires_at);

CREATE TABLE showcase_watermarks (workspace BIGINT PRIMARY KEY, seq BIGINT NOT NULL);

CREATE TABLE campaign_costs (
    workspace BIGINT NOT NULL,
    key TEXT NOT NULL,
    campaign TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    memo TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, key)
);
CREATE INDEX campaign_costs_by_campaign ON campaign_costs (workspace, campaign);
CREATE INDEX invites_by_campaign ON invites (workspace, campaign) WHERE campaign IS NOT NULL;

CREATE TABLE group_owners (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (workspace, platform, chat)
);
CREATE INDEX group_owners_by_owner ON group_owners (workspace, platform, owner);

CREATE TABLE commissions (
    workspace BIGINT NOT NULL,
    order_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    platform TEXT NOT NULL,
    earner TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (workspace, order_id, rule)
);
CREATE INDEX commissions_by_time ON commissions (workspace, at);
