-- What the ops console reads. Looking up consumers (consumers: a
-- consumer by phone or id, their credit account, plans and statements,
-- masked unless the policy shows personal data) is granted to support
-- and risk staff, and to every department that held those reads under
-- credit, so no one loses them; credit keeps partners' repayments and
-- the overdue run. The notification backlog (notifications) is
-- engineering's.
INSERT INTO staff_policy (permission, department, min_rank, changed_by, changed_at)
  SELECT 'consumers', department, min_rank, 'migration', 0 FROM staff_policy WHERE permission = 'credit';
INSERT INTO staff_policy (permission, department, min_rank, changed_by, changed_at) VALUES
  ('consumers', 'support', 'staff', 'migration', 0),
  ('consumers', 'risk', 'staff', 'migration', 0),
  ('notifications', 'engineering', 'staff', 'migration', 0)
  ON CONFLICT (permission, department) DO NOTHING;
-- Staff lists read a page at a time after the last row's key; each
-- page is a range of one of these indexes, however many rows come
-- before it: settlements by business day, the negative ones apart,
-- bills by day, applications by state and industry.
CREATE INDEX settlements_day ON settlements (batch_date, id);
CREATE INDEX settlements_negative ON settlements (batch_date, id) WHERE net < 0;
CREATE INDEX bills_day ON bills (bill_date, mchid, kind, variant);
CREATE INDEX applications_industry ON applications (state, industry, submitted_at, id);
