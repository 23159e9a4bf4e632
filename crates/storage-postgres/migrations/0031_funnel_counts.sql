-- The workspace funnel and cohort counters (qunzhu_domain::funnel_counts), kept by the rollup
-- consumer in the transaction that moves its watermark. channel '' is no recorded channel;
-- week is the join week's Monday as days from the common era, 0 for the funnel measures.
CREATE TABLE rollup_funnel_counts (
    workspace BIGINT NOT NULL, channel TEXT NOT NULL, measure TEXT NOT NULL, week BIGINT NOT NULL,
    bucket BIGINT NOT NULL, count BIGINT NOT NULL,
    PRIMARY KEY (workspace, channel, measure, week, bucket)
);
-- A workspace whose counters were started; one folded before this migration has no row and is
-- seeded from its member rows on the consumer's next step.
CREATE TABLE rollup_funnel_counted (workspace BIGINT PRIMARY KEY);

-- A platform's own daily counts beside qunzhu's (WeCom's statistics vs the rollups' joins), the
-- last comparison of each day.
CREATE TABLE platform_count_days (
    workspace BIGINT NOT NULL, platform TEXT NOT NULL, day TEXT NOT NULL,
    platform_joins BIGINT NOT NULL, qunzhu_joins BIGINT NOT NULL, checked_at BIGINT NOT NULL,
    PRIMARY KEY (workspace, platform, day)
);
