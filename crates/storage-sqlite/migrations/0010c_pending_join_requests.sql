-- The join requests still waiting, kept at ingest (newest request per member and group, closed
-- when the member is let in, invited or denied): the review queue reads this, never the log.
CREATE TABLE pending_join_requests (
    workspace BIGINT NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    member TEXT NOT NULL,
    event_key TEXT NOT NULL,
    PRIMARY KEY (workspace, platform, chat, member)
);
-- Filled once from the log as it stands (the query this table replaces).
INSERT INTO pending_join_requests (workspace, platform, chat, member, event_key)
SELECT r.workspace, r.platform, r.chat, r.member, r.key FROM events r
WHERE r.kind = 'join_requested' AND r.member IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM events later WHERE later.workspace = r.workspace AND later.platform = r.platform
      AND later.chat = r.chat AND later.member = r.member AND later.seq > r.seq
      AND later.kind IN ('member_joined', 'member_invited', 'join_request_denied', 'join_requested'));
