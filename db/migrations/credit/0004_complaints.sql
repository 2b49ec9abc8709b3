-- Consumer complaints (SPEC §4), owned by package complaint: risk records,
-- kept in the credit store with the date they may be deleted
-- (retain_until, 3 years after the complaint was last acted on).
-- state is WeChat's complaint_state (PENDING, PROCESSING, PROCESSED);
-- respond_by is the deadline of the merchant's first response, after which
-- the complaint is escalated to platform staff (escalation NONE →
-- ESCALATED → RESOLVED). hold tracks the settlement hold the complaint
-- keeps on its order (WANTED → PLACED or NONE; RELEASING → RELEASED), with
-- the hold it found on the order, restored when it ends. entries counts
-- the negotiation history, so each entry's number is taken under the
-- complaint's row lock.
CREATE TABLE complaints (
  complaint_id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  appid TEXT NOT NULL,
  consumer_id TEXT NOT NULL,
  amount BIGINT NOT NULL,
  problem_type TEXT NOT NULL,
  detail TEXT NOT NULL,
  apply_refund_amount BIGINT NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  respond_by BIGINT NOT NULL,
  first_response_at BIGINT NOT NULL DEFAULT 0,
  escalation TEXT NOT NULL DEFAULT 'NONE',
  escalated_at BIGINT NOT NULL DEFAULT 0,
  resolved_at BIGINT NOT NULL DEFAULT 0,
  resolved_by TEXT NOT NULL DEFAULT '',
  resolution TEXT NOT NULL DEFAULT '',
  completed_at BIGINT NOT NULL DEFAULT 0,
  hold TEXT NOT NULL,
  hold_prev_until BIGINT NOT NULL DEFAULT 0,
  hold_prev_reason TEXT NOT NULL DEFAULT '',
  entries INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  retain_until BIGINT NOT NULL,
  CHECK (amount > 0 AND apply_refund_amount >= 0 AND apply_refund_amount <= amount)
);
-- One open complaint per order.
CREATE UNIQUE INDEX complaints_open_order ON complaints (transaction_id) WHERE state <> 'PROCESSED';
CREATE INDEX complaints_mchid ON complaints (mchid, created_at);
CREATE INDEX complaints_consumer ON complaints (consumer_id, created_at);
CREATE INDEX complaints_overdue ON complaints (respond_by) WHERE first_response_at = 0 AND escalation = 'NONE';
CREATE INDEX complaints_escalated ON complaints (escalated_at) WHERE escalation = 'ESCALATED';
CREATE INDEX complaints_holds ON complaints (updated_at) WHERE hold IN ('WANTED', 'RELEASING');
-- The negotiation history: one row per act of the consumer, the merchant,
-- the platform or its staff. action_type, when set, is the complaint
-- notification the entry sends the merchant; notify is PENDING until the
-- notification is in the core store's outbox (ENQUEUED), or NONE.
CREATE TABLE complaint_history (
  log_id TEXT PRIMARY KEY,
  complaint_id TEXT NOT NULL REFERENCES complaints (complaint_id),
  seq INTEGER NOT NULL,
  operator TEXT NOT NULL,
  operate_type TEXT NOT NULL,
  details TEXT NOT NULL,
  jump_url TEXT NOT NULL DEFAULT '',
  jump_url_text TEXT NOT NULL DEFAULT '',
  action_type TEXT NOT NULL DEFAULT '',
  notify TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retain_until BIGINT NOT NULL,
  UNIQUE (complaint_id, seq)
);
CREATE INDEX complaint_history_unsent ON complaint_history (created_at) WHERE notify = 'PENDING';
-- Each merchant's complaint notification URL
-- (/v3/merchant-service/complaint-notifications).
CREATE TABLE complaint_notify_urls (
  mchid TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
