-- Repayment plans (issue 13). Every credit payment has a plan, keyed by
-- its attempt: pay in full (one installment) or 3, 6 or 12 monthly
-- installments, each due on the due day of a month, Asia/Shanghai. An
-- installment keeps its original amounts and its current ones (a refund
-- recomputes the unpaid installments); credit_plan_changes records every
-- such change, and credit_repayment_parts what each repayment paid of
-- each installment, so a statement of any past month can be rebuilt as it
-- stood. A repayment is written once, APPLIED by the repayment or VOID by
-- recovery's fence, whichever comes first.
CREATE TABLE credit_plans (
  plan_id TEXT PRIMARY KEY REFERENCES credit_payments (attempt_id),
  order_id TEXT NOT NULL,
  consumer_id TEXT NOT NULL,
  mchid TEXT NOT NULL,
  state TEXT NOT NULL,
  installments INTEGER NOT NULL,
  principal BIGINT NOT NULL,
  fee BIGINT NOT NULL,
  fee_payer TEXT NOT NULL,
  fee_rate INTEGER NOT NULL,
  refunded BIGINT NOT NULL DEFAULT 0,
  fee_returned BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CHECK (refunded >= 0 AND refunded <= principal AND fee_returned >= 0 AND fee_returned <= fee)
);
CREATE INDEX credit_plans_consumer ON credit_plans (consumer_id, created_at);
CREATE TABLE credit_installments (
  plan_id TEXT NOT NULL REFERENCES credit_plans (plan_id),
  seq INTEGER NOT NULL,
  consumer_id TEXT NOT NULL,
  due_on TEXT NOT NULL,
  state TEXT NOT NULL,
  original_principal BIGINT NOT NULL,
  original_fee BIGINT NOT NULL,
  principal BIGINT NOT NULL,
  fee BIGINT NOT NULL,
  paid_principal BIGINT NOT NULL DEFAULT 0,
  paid_fee BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (plan_id, seq),
  CHECK (paid_principal >= 0 AND paid_principal <= principal AND paid_fee >= 0 AND paid_fee <= fee)
);
CREATE INDEX credit_installments_open ON credit_installments (consumer_id, state, due_on);
CREATE TABLE credit_plan_changes (
  ref TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  principal BIGINT NOT NULL,
  fee BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (ref, plan_id, seq)
);
CREATE INDEX credit_plan_changes_installment ON credit_plan_changes (plan_id, seq, created_at);
CREATE TABLE credit_repayments (
  repayment_id TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  state TEXT NOT NULL,
  source TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  amount BIGINT NOT NULL,
  principal BIGINT NOT NULL DEFAULT 0,
  fee BIGINT NOT NULL DEFAULT 0,
  waived BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX credit_repayments_key ON credit_repayments (consumer_id, source, idem_key);
CREATE INDEX credit_repayments_consumer ON credit_repayments (consumer_id, created_at);
CREATE TABLE credit_repayment_parts (
  repayment_id TEXT NOT NULL REFERENCES credit_repayments (repayment_id),
  plan_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  principal BIGINT NOT NULL,
  fee BIGINT NOT NULL,
  waived BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repayment_id, plan_id, seq)
);
CREATE INDEX credit_repayment_parts_installment ON credit_repayment_parts (plan_id, seq, created_at);
-- What a refund could not take off its plan's unpaid principal and fee
-- (the consumer had repaid it) is owed back to the consumer.
ALTER TABLE credit_refunds ADD COLUMN overpaid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE credit_refunds ADD COLUMN plan_fee BIGINT NOT NULL DEFAULT 0;
ALTER TABLE credit_refunds ADD COLUMN plan_fee_overpaid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX credit_refunds_created ON credit_refunds (created_at);
-- Payments captured before plans existed are given theirs once, at the
-- first start after this migration; the row says it was done.
CREATE TABLE credit_backfills (
  name TEXT PRIMARY KEY,
  done_at BIGINT NOT NULL
);
