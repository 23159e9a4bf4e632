-- Accounts an owner manages: disabled users, and sessions found by user and by expiry.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
