-- The log's size is a counter kept at ingest (one row per connector, so parallel ingests do not
-- contend on one row), never a count(*) over the whole log.
INSERT INTO counters (name, value) SELECT 'events:-', count(*) FROM events;
