-- Display rules (SPEC §6) as data: each version of the rule set that
-- decides whether and how the cashier and the exposure API show credit
-- pay, who made it and why.
CREATE TABLE display_rule_sets (
  version INTEGER PRIMARY KEY,
  created_at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  min_amount BIGINT NOT NULL,
  first_rating TEXT NOT NULL,
  first_of_day INTEGER NOT NULL
);
-- Every exposure of the payment channels: a cashier view, or an answer of
-- the exposure API, with what was decided for credit, the reason that
-- decided it and the rule-set version. They feed the gray release's A/B
-- report (they supersede cashier_views, whose rows they take over) and the
-- funnel per display rule.
CREATE TABLE exposures (
  id TEXT PRIMARY KEY,
  surface TEXT NOT NULL,
  mchid TEXT NOT NULL,
  order_id TEXT NOT NULL DEFAULT '',
  consumer_id TEXT NOT NULL DEFAULT '',
  cohort TEXT NOT NULL DEFAULT '',
  credit_shown INTEGER NOT NULL DEFAULT 0,
  credit_first INTEGER NOT NULL DEFAULT 0,
  credit_usable INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 0,
  at BIGINT NOT NULL
);
CREATE INDEX exposures_mchid ON exposures (mchid, at);
CREATE INDEX exposures_order ON exposures (order_id) WHERE order_id <> '';
INSERT INTO exposures (id, surface, mchid, order_id, consumer_id, cohort, credit_shown, credit_first, credit_usable, reason, version, at)
  SELECT 'cv' || order_id || consumer_id, 'cashier', mchid, order_id, consumer_id, cohort,
    CASE WHEN cohort = 'control' THEN 0 ELSE 1 END, CASE WHEN cohort = 'control' THEN 0 ELSE 1 END, 0, '', 0, at
  FROM cashier_views;
DROP TABLE cashier_views;
-- "The consumer's first payment of the Shanghai day": whether any order
-- of the consumer was paid since midnight, read through this index.
CREATE INDEX orders_consumer_paid ON orders (consumer_id, paid_at) WHERE paid_at > 0;
