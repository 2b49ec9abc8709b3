-- Notifications get a table of their own, owned by package notify: a
-- payment or refund enqueues its notification here in the transaction
-- that makes it succeed, and the delivery state no longer lives on the
-- order and refund rows.
-- ref, an order's or a refund's id, is unique across both kinds.
CREATE TABLE notify_outbox (
  ref TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  mchid TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX notify_outbox_due ON notify_outbox (due_at) WHERE due_at > 0;
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
