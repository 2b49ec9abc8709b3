-- Payment and refund notifications. The order or refund row is its own
-- outbox: the statement that makes it SUCCESS also sets notify_at, the
-- time its next delivery attempt is due (0: none). A delivery worker claims
-- a due row by moving notify_at to a lease deadline with a compare-and-set,
-- so on any number of nodes one worker at a time delivers an event.
ALTER TABLE orders ADD COLUMN notify_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN notify_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN notify_state TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_notify_due ON orders (notify_at) WHERE notify_at > 0;
ALTER TABLE refunds ADD COLUMN notify_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN notify_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN notify_state TEXT NOT NULL DEFAULT '';
CREATE INDEX refunds_notify_due ON refunds (notify_at) WHERE notify_at > 0;
-- Every delivery attempt, for the merchant to read and for support.
CREATE TABLE notify_log (
  event_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  mchid TEXT NOT NULL,
  event_type TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  at BIGINT NOT NULL,
  http_status INTEGER NOT NULL,
  latency_us BIGINT NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (event_id, attempt)
);
CREATE INDEX notify_log_mchid ON notify_log (mchid, at);
