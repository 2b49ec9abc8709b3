-- The signed API calls sandbox merchants make, for the sandbox test report.
CREATE TABLE sandbox_calls (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  at BIGINT NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  status INTEGER NOT NULL,
  code TEXT NOT NULL,
  note TEXT NOT NULL
);
CREATE INDEX sandbox_calls_mchid ON sandbox_calls (mchid, at);
