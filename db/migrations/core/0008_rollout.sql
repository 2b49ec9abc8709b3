-- Gray release of credit pay: the share of a merchant's consumers offered
-- the credit option (bucketed by hash of merchant and consumer), and each
-- consumer's cashier views with their cohort, for the A/B report.
ALTER TABLE merchants ADD COLUMN credit_rollout INTEGER NOT NULL DEFAULT 100;
CREATE TABLE cashier_views (
  order_id TEXT NOT NULL REFERENCES orders (id),
  consumer_id TEXT NOT NULL,
  mchid TEXT NOT NULL,
  cohort TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (order_id, consumer_id)
);
CREATE INDEX cashier_views_mchid ON cashier_views (mchid, at);
