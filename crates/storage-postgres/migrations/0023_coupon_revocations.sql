-- Coupons taken back (an invite-task prize whose invites fell below the threshold): a state
-- with its time and reason, never a deletion.

ALTER TABLE coupons ADD COLUMN revoked_at BIGINT;
ALTER TABLE coupons ADD COLUMN revoked_reason TEXT;
