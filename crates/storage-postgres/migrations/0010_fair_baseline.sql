-- The floor of `qunzhu bench ingest` gets the log's unique idempotency key and a sequence, so a
-- plain insert into it pays for the same uniqueness check as the log on a table of the same size.
DROP TABLE bench_baseline;
CREATE TABLE bench_baseline (
    seq BIGSERIAL PRIMARY KEY,
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, key TEXT NOT NULL, chat TEXT NOT NULL,
    kind TEXT NOT NULL, member TEXT, at BIGINT NOT NULL, day TEXT NOT NULL, payload TEXT NOT NULL,
    UNIQUE (workspace, platform, key)
);
