-- A consumer's repayment from its balance moves money from the core store
-- to the credit store. Core records only the balance leaving: the transfer
-- is written with the balance debit, then the credit store applies the
-- repayment under the transfer's id, then the transfer is APPLIED.
-- Recovery settles a transfer left PENDING by fencing the repayment off
-- in the credit store (VOID) or finding it applied; CANCELLED gives the
-- balance back.
CREATE TABLE balance_transfers (
  id TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  amount BIGINT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX balance_transfers_key ON balance_transfers (consumer_id, idem_key);
CREATE INDEX balance_transfers_state ON balance_transfers (state, updated_at);
