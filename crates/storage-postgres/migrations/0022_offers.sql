-- Time-limited offers (秒杀): the offer with its stock counter, one claim per member, the chat
-- consumers' watermarks and the swap board (换). A claim and its decrement are one transaction (`remaining > 0`), so the
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

-- The chat consumers' watermarks (last event seq read), one per consumer (`offers`, `swaps`).
CREATE TABLE deal_watermarks (
    workspace BIGINT NOT NULL,
    consumer TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (workspace, consumer)
);

-- The swap board (换): offers numbered per group, closed once (swapped with a member, paired
-- with the taker's mirror offer, or withdrawn) by a conditional update on `state = 'open'`.
CREATE TABLE swaps (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    number BIGINT NOT NULL,
    key TEXT NOT NULL,
    member TEXT NOT NULL,
    have TEXT NOT NULL,
    want TEXT NOT NULL,
    posted_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    with_member TEXT,
    pair BIGINT,
    closed_at BIGINT,
    PRIMARY KEY (workspace, platform, chat, number),
    UNIQUE (workspace, key)
);
CREATE INDEX swaps_by_time ON swaps (workspace, posted_at);
