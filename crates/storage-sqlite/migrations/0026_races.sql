-- Leaderboard races 比: one row per race (named by its `race` document) with each member's
-- metric when it opened (JSON), its state and the settlement's awards (JSON), both written
-- compare-and-set so two instances open and settle a race once.

CREATE TABLE races (
    workspace INTEGER NOT NULL,
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    metric TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    baseline TEXT NOT NULL,
    state TEXT NOT NULL,
    settled_at INTEGER,
    awards TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (workspace, name)
);
