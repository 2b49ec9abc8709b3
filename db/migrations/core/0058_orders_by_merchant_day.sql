-- On SQLite the orders table is stored in the order of its merchants'
-- days: a WITHOUT ROWID table whose key is (mchid, created_at, id), so a
-- merchant's orders of a day share pages instead of lying one in every
-- few pages as traffic interleaves merchants. Settlement's batch sets the
-- settlement of each order it takes, and with the rows scattered it wrote
-- a page per order (a million pages to the WAL for a million orders) and
-- sought the table once per order; clustered, a merchant-day is a run of
-- pages. id stays UNIQUE (refunds name it); the index of the same key the
-- merchant portal lists by (0050) is the table itself now and goes.
--
-- The table is rebuilt as the ledger's was (ledger 0002): the refunds'
-- foreign key names it, so with its checks deferred, dropping the old
-- table counts each refund as orphaned and inserting its order into the
-- new one counts it back. The columns keep their order, so a read of every
-- column reads what it did. PostgreSQL keeps its table (a heap, which
-- no key clusters) and its index.
/*sqlite:
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE orders_before_layout AS SELECT * FROM orders;
DROP TABLE orders;
CREATE TABLE orders (
  id TEXT NOT NULL UNIQUE,
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
  api TEXT NOT NULL DEFAULT 'v3',
  fee BIGINT NOT NULL DEFAULT 0,
  fee_rate INTEGER NOT NULL DEFAULT 0,
  fee_tier TEXT NOT NULL DEFAULT '',
  hold_until BIGINT NOT NULL DEFAULT 0,
  hold_reason TEXT NOT NULL DEFAULT '',
  settlement_id TEXT NOT NULL DEFAULT '',
  scene_device TEXT NOT NULL DEFAULT '',
  scene_ip TEXT NOT NULL DEFAULT '',
  installment_offer TEXT NOT NULL DEFAULT '',
  installments INTEGER NOT NULL DEFAULT 0,
  plan_fee BIGINT NOT NULL DEFAULT 0,
  preselect_credit INTEGER NOT NULL DEFAULT 0,
  retained_at BIGINT NOT NULL DEFAULT 0,
  reversed_at BIGINT NOT NULL DEFAULT 0,
  code_hash TEXT NOT NULL DEFAULT '',
  payer_openid TEXT NOT NULL DEFAULT '',
  aggregate_code TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (mchid, created_at, id),
  UNIQUE (mchid, out_trade_no),
  CHECK (refunded >= 0 AND refunded <= total)
) WITHOUT ROWID;
INSERT INTO orders SELECT * FROM orders_before_layout ORDER BY mchid, created_at, id;
DROP TABLE orders_before_layout;
CREATE INDEX orders_paying ON orders (updated_at) WHERE state = 'PAYING';
CREATE INDEX orders_unsettled ON orders (mchid, channel, paid_at) WHERE settlement_id = '' AND state IN ('SUCCESS', 'REFUND');
CREATE INDEX orders_settlement ON orders (settlement_id) WHERE settlement_id <> '';
CREATE INDEX orders_waiting ON orders (expires_at) WHERE state = 'NOTPAY' AND consumer_id <> '';
CREATE UNIQUE INDEX orders_code_hash ON orders (code_hash) WHERE code_hash <> '';
CREATE INDEX orders_consumer_paid ON orders (consumer_id, paid_at) WHERE paid_at > 0;
CREATE INDEX orders_payer_openid ON orders (payer_openid, mchid) WHERE payer_openid <> '';
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_aggregate_code ON orders (mchid, aggregate_code, created_at, id) WHERE aggregate_code <> '';
CREATE INDEX orders_paid ON orders (mchid, paid_at, id, state, channel, total, fee, plan_fee, fee_rate, fee_tier, appid,
  out_trade_no, consumer_id, trade_type, currency, description, attach) WHERE paid_at > 0;
*/
