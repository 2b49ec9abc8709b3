-- Staff accounts, owned by package access. A member has a department
-- and a rank; password_hash is argon2id (PHC string); totp_secret is the
-- TOTP key, sealed under the master key when the node has one; totp_step
-- is the last 30-second step a code was accepted for, so a code is used
-- once. disabled_at is 0 while the member may log in.
CREATE TABLE staff (
  name TEXT PRIMARY KEY,
  department TEXT NOT NULL,
  rank TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  totp_secret TEXT NOT NULL,
  totp_step BIGINT NOT NULL DEFAULT 0,
  disabled_at BIGINT NOT NULL DEFAULT 0,
  disabled_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
-- Bearer tokens of staff: sessions from POST /admin/login (kind
-- 'session') and personal API tokens for scripts (kind 'api'). Only a
-- SHA-256 of the token is kept; id is the token's public name, which
-- revoking it takes. A token is good while revoked_at is 0, expires_at
-- is ahead and its member is not disabled.
CREATE TABLE staff_tokens (
  token_hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  staff_name TEXT NOT NULL REFERENCES staff (name),
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX staff_tokens_staff ON staff_tokens (staff_name);
CREATE INDEX staff_tokens_expiry ON staff_tokens (expires_at);
-- The access policy: a permission is granted to a department from a
-- rank up (staff < supervisor < manager < director). Directors hold
-- every permission whatever this table says; directors change it.
CREATE TABLE staff_policy (
  permission TEXT NOT NULL,
  department TEXT NOT NULL,
  min_rank TEXT NOT NULL,
  changed_by TEXT NOT NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (permission, department)
);
INSERT INTO staff_policy (permission, department, min_rank, changed_by, changed_at) VALUES
  ('onboarding', 'operations', 'staff', 'migration', 0),
  ('risk.rules', 'risk', 'staff', 'migration', 0),
  ('risk.queue', 'risk', 'staff', 'migration', 0),
  ('risk.list', 'risk', 'staff', 'migration', 0),
  ('settlements', 'finance', 'staff', 'migration', 0),
  ('credit', 'finance', 'staff', 'migration', 0),
  ('complaints', 'support', 'staff', 'migration', 0),
  ('keys', 'engineering', 'staff', 'migration', 0),
  ('sandbox', 'engineering', 'staff', 'migration', 0),
  ('audit', 'engineering', 'staff', 'migration', 0),
  ('audit', 'risk', 'supervisor', 'migration', 0),
  ('retention', 'risk', 'supervisor', 'migration', 0),
  ('staff', 'engineering', 'staff', 'migration', 0),
  ('personal_data', 'risk', 'supervisor', 'migration', 0),
  ('unmask', 'risk', 'supervisor', 'migration', 0),
  ('unmask', 'support', 'supervisor', 'migration', 0),
  ('unmask', 'operations', 'supervisor', 'migration', 0);
-- Each time a staff member had one masked field shown in the clear: who,
-- which record and field, why, and when.
CREATE TABLE staff_unmasks (
  id TEXT PRIMARY KEY,
  staff_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  record_id TEXT NOT NULL,
  field TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX staff_unmasks_staff ON staff_unmasks (staff_name, created_at);
