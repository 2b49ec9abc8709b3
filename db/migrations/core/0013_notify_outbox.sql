-- Notifications get a table of their own, owned by package notify: a
-- payment or refund enqueues its notification here in the transaction
-- that makes it succeed, and the delivery state no longer lives on the
-- order and refund rows.
CREATE TABLE notify_outbox (
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  mchid TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (kind, ref)
);
CREATE INDEX notify_outbox_due ON notify_outbox (due_at) WHERE due_at > 0;
CREATE INDEX notify_outbox_mchid ON notify_outbox (mchid, ref);
INSERT INTO notify_outbox (kind, ref, mchid, notify_url, state, attempts, due_at, created_at)
  SELECT 'transaction', id, mchid, notify_url, notify_state, notify_attempts, notify_at, paid_at FROM orders WHERE notify_state <> '';
INSERT INTO notify_outbox (kind, ref, mchid, notify_url, state, attempts, due_at, created_at)
  SELECT 'refund', id, mchid, notify_url, notify_state, notify_attempts, notify_at, success_at FROM refunds WHERE notify_state <> '';
DROP INDEX orders_notify_due;
DROP INDEX refunds_notify_due;
ALTER TABLE orders DROP COLUMN notify_at;
ALTER TABLE orders DROP COLUMN notify_attempts;
ALTER TABLE orders DROP COLUMN notify_state;
ALTER TABLE refunds DROP COLUMN notify_at;
ALTER TABLE refunds DROP COLUMN notify_attempts;
ALTER TABLE refunds DROP COLUMN notify_state;
