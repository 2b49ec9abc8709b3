-- Merchants' own users of the merchant portal, owned by package
-- merchantuser: separate from the platform's staff. A user (id) is
-- named within its merchant (mchid, name) and has a role (owner, finance,
-- developer, support); password_hash is argon2id (PHC string);
-- totp_secret is the TOTP key, sealed under the master key when the node
-- has one, '' for a user without a second factor (never an owner or a
-- developer); totp_step is the last 30-second step a code was accepted
-- for, so a code is used once. disabled_at is 0 while the user may log in.
CREATE TABLE merchant_users (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  totp_secret TEXT NOT NULL DEFAULT '',
  totp_step BIGINT NOT NULL DEFAULT 0,
  disabled_at BIGINT NOT NULL DEFAULT 0,
  disabled_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (mchid, name)
);
-- Portal sessions. Only a SHA-256 of the token is kept; id is the
-- session's public name, for the log. A session is good while
-- revoked_at is 0, expires_at is ahead and its user is not disabled.
CREATE TABLE merchant_user_sessions (
  token_hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES merchant_users (id),
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE INDEX merchant_user_sessions_user ON merchant_user_sessions (user_id);
CREATE INDEX merchant_user_sessions_expiry ON merchant_user_sessions (expires_at);
