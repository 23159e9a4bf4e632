-- The growth plays 拼 砍 帮 送 (issue #14): one row per run (team, bargain, assist) with its
-- participants as JSON, and the play consumer's watermark written in the same transaction.
CREATE TABLE play_watermarks (
    workspace BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE play_runs (
    workspace BIGINT NOT NULL,
    play TEXT NOT NULL,
    number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    starter TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    closed_at BIGINT,
    price_cents BIGINT NOT NULL,
    participants TEXT NOT NULL,
    PRIMARY KEY (workspace, play, number)
);

-- The console lists runs newest first, often only the open ones.
CREATE INDEX play_runs_by_start ON play_runs (workspace, started_at DESC);
CREATE INDEX play_runs_by_state ON play_runs (workspace, state, started_at DESC);
