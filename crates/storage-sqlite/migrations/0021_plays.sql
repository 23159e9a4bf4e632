-- The growth plays 拼 砍 帮 送 (issue #14): one row per run (team, bargain, assist) with its
-- participants as JSON, and the play consumer's watermark written in the same transaction.
CREATE TABLE play_watermarks (
    workspace INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);

CREATE TABLE play_runs (
    workspace INTEGER NOT NULL,
    play TEXT NOT NULL,
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    starter TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    closed_at INTEGER,
    price_cents INTEGER NOT NULL,
    participants TEXT NOT NULL,
    PRIMARY KEY (workspace, play, number)
);

-- The console lists runs newest first, often only the open ones.
CREATE INDEX play_runs_by_start ON play_runs (workspace, started_at DESC);
CREATE INDEX play_runs_by_state ON play_runs (workspace, state, started_at DESC);
