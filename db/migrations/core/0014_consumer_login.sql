-- Wrong logins are counted in the store, owned by package consumer, so a
-- lockout holds across restarts and every node shares one count. subject
-- is 'phone:<phone>' or 'source:<address>'. failures counts the wrong
-- logins of the window, pending the attempts whose PIN is being checked
-- now; an attempt may start only while failures + pending is under the
-- limit. The window ends at expires_at, after which the row is forgotten.
CREATE TABLE login_attempts (
  subject TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  pending INTEGER NOT NULL,
  expires_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX login_attempts_expiry ON login_attempts (expires_at);
-- Cashier sessions, owned by package consumer: a session cookie is worth
-- something only while its row is here, so logging out ends it on every
-- node. Only a SHA-256 of the session's token is kept.
CREATE TABLE consumer_sessions (
  token_hash TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX consumer_sessions_expiry ON consumer_sessions (expires_at);
