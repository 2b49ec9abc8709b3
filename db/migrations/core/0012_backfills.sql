-- One-off data backfills that need both stores, so cannot be SQL
-- migrations: each runs once, at the first start after it ships, and is
-- recorded here.
CREATE TABLE backfills (
  name TEXT PRIMARY KEY,
  done_at BIGINT NOT NULL
);
