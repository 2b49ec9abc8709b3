-- Pre-authorizations (service orders, SPEC §7). A consumer who confirms a
-- merchant's service order freezes up to its risk fund of its credit line:
-- the line's frozen amount, which the line's available leaves out, and a
-- hold recording it. A hold is FROZEN until the merchant completes the
-- order (CAPTURED, by the payment attempt that drew the amount) or it is
-- cancelled or expires (RELEASED). release_after is when the expiry job
-- releases a hold still FROZEN.
ALTER TABLE credit_lines ADD COLUMN frozen BIGINT NOT NULL DEFAULT 0;
CREATE TABLE credit_holds (
  hold_id TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  mchid TEXT NOT NULL,
  amount BIGINT NOT NULL,
  state TEXT NOT NULL,
  attempt_id TEXT NOT NULL DEFAULT '',
  release_after BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX credit_holds_consumer ON credit_holds (consumer_id, state);
CREATE INDEX credit_holds_due ON credit_holds (release_after) WHERE state = 'FROZEN';
