-- Overdue installments and managed credit lines (issue 13). An unpaid
-- installment moves from DUE to OVERDUE the day after its due day, and is
-- charged a late fee for every day it stays overdue: one row per
-- installment and day, so charging a day twice charges it once and a
-- missed day is caught up. The late fee is added to the installment's fee
-- (recorded as a plan change under the ref late:DAY).
CREATE TABLE credit_late_fees (
  plan_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  day TEXT NOT NULL,
  consumer_id TEXT NOT NULL,
  principal BIGINT NOT NULL,
  fee BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (plan_id, seq, day)
);
CREATE INDEX credit_late_fees_consumer ON credit_late_fees (consumer_id, day);
-- A line is ACTIVE or FROZEN; a frozen line takes no credit payment.
-- Every staff change of a line is recorded with its actor, reason and the
-- line before and after.
ALTER TABLE credit_lines ADD COLUMN state TEXT NOT NULL DEFAULT 'ACTIVE';
CREATE TABLE credit_line_changes (
  change_id TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  limit_before BIGINT NOT NULL,
  limit_after BIGINT NOT NULL,
  rating_before TEXT NOT NULL,
  rating_after TEXT NOT NULL,
  state_before TEXT NOT NULL,
  state_after TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX credit_line_changes_consumer ON credit_line_changes (consumer_id, created_at);
