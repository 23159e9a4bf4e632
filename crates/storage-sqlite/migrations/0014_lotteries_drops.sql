-- Lotteries: the seed (secret until drawn) and its published commitment, the members' standing
-- when it opened, chances bought with points, and the draw with the entries it saw.

CREATE TABLE lotteries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace INTEGER NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    campaign TEXT,
    rules TEXT NOT NULL,
    prizes TEXT NOT NULL,
    pool TEXT,
    seed TEXT NOT NULL,
    commitment TEXT NOT NULL,
    opens_at INTEGER NOT NULL,
    closes_at INTEGER NOT NULL,
    baseline TEXT NOT NULL,
    drawn TEXT,
    UNIQUE (workspace, key)
);
CREATE INDEX lotteries_by_workspace ON lotteries (workspace, id);

CREATE TABLE lottery_purchases (
    workspace INTEGER NOT NULL,
    lottery INTEGER NOT NULL,
    key TEXT NOT NULL,
    member TEXT NOT NULL,
    points INTEGER NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (workspace, key)
);
CREATE INDEX lottery_purchases_by_lottery ON lottery_purchases (workspace, lottery, member);

-- Point drops (红包雨) scheduled by operators and SOP steps; shares are outbox actions.
CREATE TABLE drops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace INTEGER NOT NULL,
    key TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    spec TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    origin TEXT NOT NULL,
    UNIQUE (workspace, key)
);
CREATE INDEX drops_by_start ON drops (workspace, starts_at);
