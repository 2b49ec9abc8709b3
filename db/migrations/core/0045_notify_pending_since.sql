-- A notification's pending_since is when it last became pending: when its
-- payment, refund or complaint act was stored, or when the merchant resent
-- it after it was delivered or given up. /metrics reads the backlog and
-- the age of its oldest notification from the index of the pending rows
-- (due_at > 0, as notify_outbox_due), in one statement; created_at would
-- make an old event a merchant resends look like a backlog days old.
ALTER TABLE notify_outbox ADD COLUMN pending_since BIGINT NOT NULL DEFAULT 0;
UPDATE notify_outbox SET pending_since = created_at WHERE due_at > 0;
CREATE INDEX notify_outbox_pending ON notify_outbox (pending_since) WHERE due_at > 0;
