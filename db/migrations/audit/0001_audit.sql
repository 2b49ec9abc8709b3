-- The audit log: every staff read and write of personal or financial
-- data, every login, unmask, rule or key change, appended in the store
-- the data lives in. Entries are chained: hash = SM3(prev_hash ‖ the
-- entry's canonical encoding), hex. Package audit owns both tables.
CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target_kind TEXT NOT NULL,
  target_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);
-- The chain's head: the last entry's seq and hash, in one row that every
-- append locks and moves in its own transaction, so appends from any
-- number of nodes take turns and the chain never forks.
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
