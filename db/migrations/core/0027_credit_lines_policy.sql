-- A credit line's limit, rating, freeze and close are risk decisions:
-- risk supervisors and above make them (credit.lines), apart from the
-- finance work on consumers' credit (credit: partners' repayments,
-- accounts, statements, the overdue run).
INSERT INTO staff_policy (permission, department, min_rank, changed_by, changed_at) VALUES
  ('credit.lines', 'risk', 'supervisor', 'migration', 0);
