-- Merchant applications for credit pay, with every state change and every
-- automatic check recorded.
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL REFERENCES merchants (mchid),
  state TEXT NOT NULL,
  industry TEXT NOT NULL,
  data TEXT NOT NULL,
  policy_version TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  submitted_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
CREATE INDEX applications_state ON applications (state, submitted_at);
CREATE INDEX applications_mchid ON applications (mchid);
CREATE TABLE application_events (
  application_id TEXT NOT NULL REFERENCES applications (id),
  seq INTEGER NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (application_id, seq)
);
CREATE TABLE application_checks (
  application_id TEXT NOT NULL REFERENCES applications (id),
  name TEXT NOT NULL,
  passed INTEGER NOT NULL,
  reason TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (application_id, name)
);
-- A merchant's earlier ordinary-payment history, imported from CSV.
CREATE TABLE merchant_history (
  mchid TEXT NOT NULL,
  month TEXT NOT NULL,
  ordinary_count INTEGER NOT NULL,
  source TEXT NOT NULL,
  imported_at BIGINT NOT NULL,
  PRIMARY KEY (mchid, month)
);
-- The payment-industry risk list, imported from CSV.
CREATE TABLE risk_list (
  licence_number TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  imported_at BIGINT NOT NULL
);
