-- Retention (package retention). A legal hold on a merchant, a consumer or
-- an order keeps it, and everything under it, from the retention job until
-- staff release it; both who placed it and who released it are recorded.
CREATE TABLE legal_holds (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  released_by TEXT NOT NULL DEFAULT '',
  released_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX legal_holds_subject ON legal_holds (kind, subject);
-- One retention run per day (Asia/Shanghai), claimed by one node under a
-- lease, as settlement batches are; a run interrupted leaves its claim to
-- expire and the next one continues where the data stands.
CREATE TABLE retention_runs (
  day TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  lease_until BIGINT NOT NULL,
  removed INTEGER NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0
);
-- An order whose trade details retention anonymised: its descriptive and
-- personal columns are blank, the columns its postings are proved by kept.
ALTER TABLE orders ADD COLUMN retained_at BIGINT NOT NULL DEFAULT 0;
-- A consumer whose authorization retention ended: phone, blind index and
-- PIN hash gone, the id kept as the opaque key of its postings.
ALTER TABLE consumers ADD COLUMN forgotten_at BIGINT NOT NULL DEFAULT 0;
