-- Each settlement exception request becomes the SETTLEMENT_DELAY ticket
-- of its id, with one timer and one history: its description, status,
-- answer, due time and the time it was answered move to the ticket; the
-- request keeps what is its own (the day or order it is about and the
-- sealed attachment). A request answered RESOLVED is a resolved ticket,
-- one answered REJECTED a ticket closed without a fix; the answer was its
-- first response. An open request still unanswered is escalated by the
-- first escalation run once it is due.
INSERT INTO tickets (id, type, source, mchid, consumer_id, subject, description, out_trade_no, transaction_id, contact, status,
  sla_us, due_at, first_response_at, escalation, escalated_at, escalate_at, assignee, resolution, resolved_at, closed_at,
  events, attachments, created_at, updated_at)
SELECT e.id, 'SETTLEMENT_DELAY', 'MERCHANT', e.mchid, '',
  CASE WHEN e.out_trade_no <> '' THEN 'Settlement exception: order ' || e.out_trade_no ELSE 'Settlement exception: ' || e.settle_date END,
  e.description, e.out_trade_no,
  CASE WHEN e.out_trade_no <> '' THEN COALESCE((SELECT o.id FROM orders o WHERE o.mchid = e.mchid AND o.out_trade_no = e.out_trade_no), '') ELSE '' END,
  '',
  CASE e.status WHEN 'OPEN' THEN 'OPEN' WHEN 'RESOLVED' THEN 'RESOLVED' ELSE 'CLOSED' END,
  e.due_at - e.created_at, e.due_at, e.resolved_at, 0, 0,
  CASE WHEN e.status = 'OPEN' THEN e.due_at ELSE 0 END,
  '', e.resolution,
  CASE WHEN e.status = 'RESOLVED' THEN e.resolved_at ELSE 0 END,
  CASE WHEN e.status = 'REJECTED' THEN e.resolved_at ELSE 0 END,
  CASE WHEN e.status = 'OPEN' THEN 1 ELSE 2 END, 0, e.created_at,
  CASE WHEN e.resolved_at > e.created_at THEN e.resolved_at ELSE e.created_at END
FROM settlement_exceptions e;
INSERT INTO ticket_events (ticket_id, seq, at, actor, type, body, detail)
SELECT id, 1, created_at, 'merchant:' || mchid, 'OPENED', '', '' FROM settlement_exceptions;
INSERT INTO ticket_events (ticket_id, seq, at, actor, type, body, detail)
SELECT id, 2, resolved_at, 'staff', CASE status WHEN 'RESOLVED' THEN 'RESOLVED' ELSE 'CLOSED' END, resolution, ''
FROM settlement_exceptions WHERE status <> 'OPEN';
