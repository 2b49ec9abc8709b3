CREATE TABLE credit_lines (
  consumer_id TEXT PRIMARY KEY,
  credit_limit BIGINT NOT NULL,
  used BIGINT NOT NULL DEFAULT 0,
  rating TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CHECK (used >= 0 AND credit_limit >= 0)
);
-- One row per payment attempt on credit. CAPTURED moved money; VOID is the
-- fence written by recovery so an attempt that never committed can never
-- commit later. At most one attempt per order is CAPTURED.
CREATE TABLE credit_payments (
  attempt_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  state TEXT NOT NULL,
  mchid TEXT NOT NULL,
  consumer_id TEXT NOT NULL,
  amount BIGINT NOT NULL,
  refunded BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  CHECK (refunded >= 0 AND refunded <= amount)
);
CREATE UNIQUE INDEX credit_payments_order ON credit_payments (order_id) WHERE state = 'CAPTURED';
CREATE TABLE credit_refunds (
  refund_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  attempt_id TEXT NOT NULL REFERENCES credit_payments (attempt_id),
  amount BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
