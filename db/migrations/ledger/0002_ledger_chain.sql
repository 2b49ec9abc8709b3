-- The ledger's SM3 chain (package ledger, seal.go). Each committed
-- transaction gets a commit_order that orders it among the others as
-- they finished; a sealer behind the writers chains them in
-- (commit_order, id) order. Writers never touch the chain's tables.
--
-- PostgreSQL: commit_order is the writing transaction's id (xid8 as a
-- number), a column DEFAULT, so Post names it nowhere. Transactions
-- commit out of xid order, so the sealer seals only rows whose xid is
-- below its snapshot's xmin: every such transaction has finished. Rows
-- written before this migration read 0 (an instant ADD COLUMN) and are
-- sealed first, in id byte order.
/*postgres:
ALTER TABLE ledger_txns ADD COLUMN commit_order BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_txns ALTER COLUMN commit_order SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX ledger_txns_commit_order ON ledger_txns (commit_order);
*/
-- SQLite: one writer, so insertion order is commit order. commit_order is
-- the table's INTEGER PRIMARY KEY (its rowid, which VACUUM keeps, unlike
-- an implicit rowid), assigned at insert. The table is rebuilt with it,
-- its rows keeping their order of insertion. The entries' foreign key
-- names the table: with its checks deferred, dropping the old table counts
-- each entry as orphaned and inserting its transaction into the new one
-- counts it back, so the rebuild commits with none outstanding.
/*sqlite:
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE ledger_txns_before_chain AS SELECT rowid AS n, id, kind, ref, created_at FROM ledger_txns;
DROP TABLE ledger_txns;
CREATE TABLE ledger_txns (
  commit_order INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
INSERT INTO ledger_txns (id, kind, ref, created_at) SELECT id, kind, ref, created_at FROM ledger_txns_before_chain ORDER BY n;
DROP TABLE ledger_txns_before_chain;
*/
-- The chain: position pos seals txn_id with hash = SM3(hash of pos-1 ‖
-- the transaction's canonical encoding), lower-case hex. Written only by
-- the sealer.
CREATE TABLE ledger_chain (
  pos BIGINT PRIMARY KEY,
  txn_id TEXT NOT NULL,
  hash TEXT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
-- The chain's head, one row: its last position and hash, and the
-- commit_order of the last transaction group sealed. A sealing round
-- moves it only from the head it read (compare-and-set), so sealers on
-- several nodes never fork the chain.
CREATE TABLE ledger_seal (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pos BIGINT NOT NULL,
  commit_order BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO ledger_seal (id, pos, commit_order, hash) VALUES (1, 0, -1, '');
