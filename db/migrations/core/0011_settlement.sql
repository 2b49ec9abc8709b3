-- Settlement (SPEC §3): every paid order and successful refund carries the
-- fee it was charged or returned whatever its channel (a credit payment's
-- is copied from the credit store when the order completes), a risk hold
-- (held until hold_until, released by setting it to 0), and the settlement
-- that took it. A refund carries its order's channel so each channel's
-- batch finds its own refunds.
ALTER TABLE orders ADD COLUMN fee_tier TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN hold_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN settlement_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN settlement_id TEXT NOT NULL DEFAULT '';
UPDATE refunds SET channel = (SELECT channel FROM orders WHERE orders.id = refunds.order_id);
-- A merchant's discount (ppm off the combined credit-pay rate, never below
-- a tier's floor) and when it ends (0: no end).
ALTER TABLE merchants ADD COLUMN fee_discount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN fee_discount_until BIGINT NOT NULL DEFAULT 0;
-- What a batch has yet to settle, what a settlement took, and a day's
-- trades for the bills.
CREATE INDEX orders_unsettled ON orders (mchid, channel, paid_at) WHERE settlement_id = '' AND state IN ('SUCCESS', 'REFUND');
CREATE INDEX refunds_unsettled ON refunds (mchid, channel, created_at) WHERE settlement_id = '' AND status = 'SUCCESS';
CREATE INDEX orders_settlement ON orders (settlement_id) WHERE settlement_id <> '';
CREATE INDEX refunds_settlement ON refunds (settlement_id) WHERE settlement_id <> '';
CREATE INDEX orders_paid ON orders (mchid, paid_at) WHERE paid_at > 0;
CREATE INDEX refunds_created ON refunds (mchid, created_at);
-- One batch per business day and channel. The node holding the lease
-- runs it; every step it commits checks the lease is still its own.
CREATE TABLE settlement_batches (
  batch_date TEXT NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  lease_until BIGINT NOT NULL,
  merchants INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (batch_date, channel)
);
-- One settlement per merchant, business day and channel: what moved from
-- pending settlement to the merchant's settlement account. PENDING means
-- recorded here and not yet posted to the credit store's books.
CREATE TABLE settlements (
  id TEXT PRIMARY KEY,
  batch_date TEXT NOT NULL,
  channel TEXT NOT NULL,
  mchid TEXT NOT NULL,
  payments INTEGER NOT NULL,
  payment_amount BIGINT NOT NULL,
  payment_fees BIGINT NOT NULL,
  refunds INTEGER NOT NULL,
  refund_amount BIGINT NOT NULL,
  refund_fees BIGINT NOT NULL,
  net BIGINT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  settled_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (batch_date, channel, mchid)
);
CREATE INDEX settlements_mchid ON settlements (mchid, batch_date);
-- Bills as generated: a snapshot per merchant, day, kind and variant.
CREATE TABLE bills (
  mchid TEXT NOT NULL,
  bill_date TEXT NOT NULL,
  kind TEXT NOT NULL,
  variant TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (mchid, bill_date, kind, variant)
);
-- Settlement exception requests (SPEC §8), with their 24-hour SLA.
CREATE TABLE settlement_exceptions (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  settle_date TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  description TEXT NOT NULL,
  attachment_name TEXT NOT NULL,
  attachment TEXT NOT NULL,
  attachment_sha256 TEXT NOT NULL,
  status TEXT NOT NULL,
  resolution TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  resolved_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX settlement_exceptions_mchid ON settlement_exceptions (mchid, created_at);
CREATE INDEX settlement_exceptions_open ON settlement_exceptions (due_at) WHERE status = 'OPEN';
