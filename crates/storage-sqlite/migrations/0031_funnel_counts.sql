-- The workspace funnel and cohort counters (qunzhu_domain::funnel_counts), kept by the rollup
-- consumer in the transaction that moves its watermark. channel '' is no recorded channel;
-- week is the join week's Monday as days from the common era, 0 for the funnel measures.
CREATE TABLE rollup_funnel_counts (
    workspace INTEGER NOT NULL, channel TEXT NOT NULL, measure TEXT NOT NULL, week INTEGER NOT NULL,
    bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (workspace, channel, measure, week, bucket)
);
-- A workspace whose counters were started; one folded before this migration has no row and is
-- seeded from its member rows on the consumer's next step.
CREATE TABLE rollup_funnel_counted (workspace INTEGER PRIMARY KEY);

-- A platform's own daily counts beside qunzhu's (WeCom's statistics vs the rollups' joins), the
-- last comparison of each day.
CREATE TABLE platform_count_days (
    workspace INTEGER NOT NULL, platform TEXT NOT NULL, day TEXT NOT NULL,
    platform_joins INTEGER NOT NULL, qunzhu_joins INTEGER NOT NULL, checked_at INTEGER NOT NULL,
    PRIMARY KEY (workspace, platform, day)
);
