-- An action's idempotency key is unique within its workspace, not across the whole database:
-- two brands on one database may derive the same key from their own events.
ALTER TABLE actions DROP CONSTRAINT actions_key_key;
ALTER TABLE actions ADD CONSTRAINT actions_workspace_key UNIQUE (workspace, key);
