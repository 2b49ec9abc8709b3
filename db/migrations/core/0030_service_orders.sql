-- Service orders (pre-authorization, SPEC §7), WeChat Pay Score's
-- 支付分服务订单: a merchant creates one with the most the service may
-- cost (risk_amount), the consumer confirms it, which freezes that much
-- of its credit line (a hold in the credit store, by the same id), and the
-- merchant completes it with what the service cost, which fenfu captures
-- at once as an ordinary credit payment: the order payment_id, trade_type
-- PAYSCORE. States: CREATED, DOING (confirmed, frozen), DONE (paid),
-- REVOKED (cancelled), EXPIRED (released by the expiry job after end_at
-- and the grace period).
CREATE TABLE service_orders (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  out_order_no TEXT NOT NULL,
  appid TEXT NOT NULL,
  service_id TEXT NOT NULL,
  service_introduction TEXT NOT NULL,
  risk_fund_name TEXT NOT NULL,
  risk_fund_description TEXT NOT NULL DEFAULT '',
  risk_amount BIGINT NOT NULL,
  start_time TEXT NOT NULL,
  end_time TEXT NOT NULL,
  end_at BIGINT NOT NULL,
  attach TEXT NOT NULL DEFAULT '',
  notify_url TEXT NOT NULL,
  params_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  consumer_id TEXT NOT NULL DEFAULT '',
  installments INTEGER NOT NULL DEFAULT 0,
  payment_id TEXT NOT NULL DEFAULT '',
  total_amount BIGINT NOT NULL DEFAULT 0,
  post_payments TEXT NOT NULL DEFAULT '',
  cancel_reason TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  confirmed_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (mchid, out_order_no)
);
CREATE INDEX service_orders_due ON service_orders (end_at) WHERE state IN ('CREATED', 'DOING');
CREATE INDEX service_orders_payment ON service_orders (payment_id) WHERE payment_id <> '';
