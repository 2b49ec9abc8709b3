CREATE TABLE merchants (
  mchid TEXT PRIMARY KEY,
  appid TEXT NOT NULL,
  name TEXT NOT NULL,
  env TEXT NOT NULL,
  apiv3_key TEXT NOT NULL,
  notify_url TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE TABLE merchant_keys (
  mchid TEXT NOT NULL REFERENCES merchants (mchid),
  serial_no TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  public_key TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (mchid, serial_no)
);
CREATE TABLE consumers (
  id TEXT PRIMARY KEY,
  phone TEXT NOT NULL UNIQUE,
  pin_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
-- Orders are the merchant-facing record of every payment, whatever the
-- channel. A credit payment's money lives in the credit store; the order
-- names the attempt that moved it.
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  appid TEXT NOT NULL,
  trade_type TEXT NOT NULL,
  description TEXT NOT NULL,
  attach TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  limit_pay TEXT NOT NULL,
  total BIGINT NOT NULL,
  currency TEXT NOT NULL,
  params_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT '',
  consumer_id TEXT NOT NULL DEFAULT '',
  attempt_id TEXT NOT NULL DEFAULT '',
  refunded BIGINT NOT NULL DEFAULT 0,
  refund_count INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  paid_at BIGINT NOT NULL DEFAULT 0,
  closed_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (mchid, out_trade_no),
  CHECK (refunded >= 0 AND refunded <= total)
);
CREATE INDEX orders_paying ON orders (updated_at) WHERE state = 'PAYING';
CREATE TABLE refunds (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  out_refund_no TEXT NOT NULL,
  order_id TEXT NOT NULL REFERENCES orders (id),
  amount BIGINT NOT NULL,
  reason TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  params_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  success_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (mchid, out_refund_no)
);
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX refunds_processing ON refunds (created_at) WHERE status = 'PROCESSING';
