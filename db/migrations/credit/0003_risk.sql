-- Real-time risk control (SPEC §4). Rules are data: each change makes a
-- new rule-set version, and every node evaluates the newest version it has
-- loaded. A decision is recorded for every evaluated payment attempt, with
-- the rules that matched and the features they read; alerts and holds
-- enter the risk queue, whose every action is recorded. Risk records keep
-- the date until which retention must keep them (3 years).
CREATE TABLE risk_rule_sets (
  version INTEGER PRIMARY KEY,
  created_at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE risk_rules (
  version INTEGER NOT NULL REFERENCES risk_rule_sets (version),
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  channels TEXT NOT NULL,
  expr TEXT NOT NULL,
  decision TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  shadow INTEGER NOT NULL,
  PRIMARY KEY (version, name)
);
CREATE TABLE risk_decisions (
  attempt_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  mchid TEXT NOT NULL,
  consumer_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  amount BIGINT NOT NULL,
  version INTEGER NOT NULL,
  decision TEXT NOT NULL,
  matched TEXT NOT NULL,
  features TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retain_until BIGINT NOT NULL
);
CREATE INDEX risk_decisions_created ON risk_decisions (created_at);
CREATE INDEX risk_decisions_order ON risk_decisions (order_id);
CREATE TABLE risk_queue (
  attempt_id TEXT PRIMARY KEY REFERENCES risk_decisions (attempt_id),
  order_id TEXT NOT NULL,
  decision TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  retain_until BIGINT NOT NULL
);
CREATE INDEX risk_queue_state ON risk_queue (state, created_at);
CREATE INDEX risk_queue_order ON risk_queue (order_id);
-- Each action moves a queue item to a state it was never in before, so
-- an item has each action at most once.
CREATE TABLE risk_actions (
  attempt_id TEXT NOT NULL REFERENCES risk_queue (attempt_id),
  action TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retain_until BIGINT NOT NULL,
  PRIMARY KEY (attempt_id, action)
);
-- The features of a credit payment read the consumer's earlier payments
-- by time: what was paid today and this month, and the latest run at one
-- merchant.
CREATE INDEX credit_payments_consumer ON credit_payments (consumer_id, created_at);
