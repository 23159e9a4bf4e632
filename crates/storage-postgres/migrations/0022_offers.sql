-- Time-limited offers (秒杀): the offer with its stock counter, one claim per member, and the chat
-- consumer's watermark. A claim and its decrement are one transaction (`remaining > 0`), so the
-- CHECK below is a last line of defence, never the rule that decides.

CREATE TABLE offers (
    id BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL,
    key TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    spec TEXT NOT NULL,
    source TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    stock BIGINT NOT NULL,
    remaining BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= stock),
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace, key)
);
CREATE INDEX offers_by_window ON offers (workspace, ends_at);

CREATE TABLE offer_claims (
    workspace BIGINT NOT NULL,
    offer BIGINT NOT NULL,
    member TEXT NOT NULL,
    rank BIGINT NOT NULL,
    state TEXT NOT NULL,
    at BIGINT NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (workspace, offer, member)
);

CREATE TABLE offer_watermarks (
    workspace BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
