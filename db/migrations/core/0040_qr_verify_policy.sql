-- Inspectors verify the marks under any merchant's codes (qr.verify):
-- risk staff, who look into counterfeit codes, and support staff, who
-- answer consumers and merchants asking whether a code is genuine.
INSERT INTO staff_policy (permission, department, min_rank, changed_by, changed_at) VALUES
  ('qr.verify', 'risk', 'staff', 'migration', 0),
  ('qr.verify', 'support', 'staff', 'migration', 0);
