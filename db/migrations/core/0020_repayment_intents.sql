-- A consumer's repayment from its balance (issue 13) moves money from the
-- core store to the credit store. The intent is written with the balance
-- debit, then the credit store applies the repayment, then the intent is
-- APPLIED; recovery settles an intent left PENDING by fencing the
-- repayment off in the credit store (VOID) or finding it applied, and
-- CANCELLED gives the balance back.
CREATE TABLE repayment_intents (
  id TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  amount BIGINT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX repayment_intents_key ON repayment_intents (consumer_id, idem_key);
CREATE INDEX repayment_intents_state ON repayment_intents (state, updated_at);
