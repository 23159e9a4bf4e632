-- Named values connectors share across instances (an access token and its expiry).
-- Times are BIGINT microseconds since the Unix epoch (UTC), as everywhere else.
CREATE TABLE connector_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
