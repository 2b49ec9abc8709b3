-- The books of one store. Entries are signed: debits positive, credits
-- negative; every transaction's entries sum to zero. Accounts whose balance
-- is tracked (consumer accounts) keep it in ledger_accounts, updated in the
-- posting's transaction; busy accounts (merchant pending settlement,
-- platform fee income) keep no balance row, their balance is the sum of
-- their entries, so no payment waits on another's row lock.
CREATE TABLE ledger_accounts (
  id TEXT PRIMARY KEY,
  balance BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
-- id is kind:ref, so a business event is posted at most once.
CREATE TABLE ledger_txns (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE ledger_entries (
  txn_id TEXT NOT NULL REFERENCES ledger_txns (id),
  seq INTEGER NOT NULL,
  account TEXT NOT NULL,
  amount BIGINT NOT NULL,
  PRIMARY KEY (txn_id, seq)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account);
