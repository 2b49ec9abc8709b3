-- Support tickets (SPEC §8), owned by package ticket. A merchant or a
-- consumer opens a ticket of a type; the type's lane (ticket_lanes) says
-- how soon staff must first answer it (sla_us) and whether the on-duty
-- staff are alerted the moment it opens. A ticket keeps the SLA and the
-- due time it was opened with; escalate_at is when it is next escalated
-- while no staff member has answered (0 once answered, closed or at the
-- last level). A settlement exception request (settlement_exceptions) is
-- a SETTLEMENT_DELAY ticket of the same id.
CREATE TABLE ticket_lanes (
  type TEXT PRIMARY KEY,
  sla_us BIGINT NOT NULL,
  alert_on_open INTEGER NOT NULL,
  changed_by TEXT NOT NULL DEFAULT '',
  changed_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  mchid TEXT NOT NULL DEFAULT '',
  consumer_id TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL,
  description TEXT NOT NULL,
  out_trade_no TEXT NOT NULL DEFAULT '',
  transaction_id TEXT NOT NULL DEFAULT '',
  contact TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  sla_us BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  first_response_at BIGINT NOT NULL DEFAULT 0,
  escalation INTEGER NOT NULL DEFAULT 0,
  escalated_at BIGINT NOT NULL DEFAULT 0,
  escalate_at BIGINT NOT NULL DEFAULT 0,
  assignee TEXT NOT NULL DEFAULT '',
  resolution TEXT NOT NULL DEFAULT '',
  resolved_at BIGINT NOT NULL DEFAULT 0,
  closed_at BIGINT NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0,
  attachments INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
-- The lists, newest first: the staff's, a merchant's, a consumer's.
CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_merchant ON tickets (mchid, created_at, id);
CREATE INDEX tickets_consumer ON tickets (consumer_id, created_at, id) WHERE consumer_id <> '';
-- The staff's queue of tickets not yet resolved, most urgent first.
CREATE INDEX tickets_due ON tickets (due_at, id) WHERE status IN ('OPEN', 'ANSWERED');
-- The escalation run's work.
CREATE INDEX tickets_escalate ON tickets (escalate_at) WHERE escalate_at > 0;
-- The orders tickets name: disputes, which retention keeps.
CREATE INDEX tickets_out_trade_no ON tickets (out_trade_no) WHERE out_trade_no <> '';
CREATE INDEX tickets_transaction ON tickets (transaction_id) WHERE transaction_id <> '';
-- Every event of a ticket, numbered from 1: opened, replies, assignment,
-- escalation, alerts, resolution, closing; actor is merchant:MCHID,
-- consumer:ID, staff:NAME or fenfu.
CREATE TABLE ticket_events (
  ticket_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (ticket_id, seq)
);
-- Files sent with a ticket or a reply (seq is the event's), sealed.
CREATE TABLE ticket_attachments (
  id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (ticket_id, seq);
-- On-duty alerts: one per ticket and level (0 when it opened, 1 and 2 as
-- it is escalated), written with the act that raises it and delivered
-- after; next_at is when it may next be tried (a node's claim lasts until
-- then).
CREATE TABLE ticket_alerts (
  id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL,
  level INTEGER NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at BIGINT NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  sent_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ticket_alerts_pending ON ticket_alerts (next_at) WHERE state = 'PENDING';
