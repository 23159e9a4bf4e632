-- An action's idempotency key is unique within its workspace, not across the whole database:
-- two brands on one database may derive the same key from their own events. SQLite cannot drop
-- a column's UNIQUE, so the table is rebuilt with the same columns and every index recreated.
CREATE TABLE actions_scoped (
    id INTEGER PRIMARY KEY,
    workspace INTEGER NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    origin TEXT NOT NULL,
    cause TEXT,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    expires_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    done_at INTEGER,
    last_error TEXT,
    receipt TEXT,
    UNIQUE (workspace, key)
);
INSERT INTO actions_scoped (id, workspace, platform, chat, key, kind, payload, origin, cause, target,
    status, attempts, created_at, not_before, next_attempt_at, expires_at, lease_owner, lease_until,
    done_at, last_error, receipt)
SELECT id, workspace, platform, chat, key, kind, payload, origin, cause, target,
    status, attempts, created_at, not_before, next_attempt_at, expires_at, lease_owner, lease_until,
    done_at, last_error, receipt
FROM actions;
DROP TABLE actions;
ALTER TABLE actions_scoped RENAME TO actions;
CREATE INDEX actions_due ON actions (platform, target, status, next_attempt_at);
CREATE INDEX actions_by_workspace ON actions (workspace, id);
CREATE INDEX reports_actions_by_origin_time ON actions (workspace, origin, created_at);
CREATE INDEX reports_actions_by_time ON actions (workspace, created_at);
CREATE INDEX reports_actions_by_due ON actions (workspace, not_before);
CREATE INDEX reports_checkins_by_member ON actions (workspace, platform, json_extract(payload, '$.member'))
    WHERE origin = 'checkin' AND kind = 'grant_reward';
CREATE INDEX actions_by_origin_time ON actions (workspace, origin, not_before);
