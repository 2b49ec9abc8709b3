-- Each login attempt whose secret is being checked is a row of its own,
-- owned by package login, with when it started: a subject's count is its
-- wrong logins (login_attempts.failures) and its rows here younger than
-- login.PendingLease. A node killed while checking secrets leaves its rows
-- behind, and each stops counting PendingLease after it started, however
-- many attempts start after it. 0039's one lease per subject
-- (login_attempts.pending_at), renewed by every attempt, never ran out on
-- an address in constant use, which kept every crash's attempts counted.
-- The key orders a subject's rows by start, so counting the live ones
-- reads only those; the minute's sweep of stale rows reads the table,
-- which holds only the attempts of the last minute or so.
CREATE TABLE login_in_flight (
  subject TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  id BIGINT NOT NULL,
  PRIMARY KEY (subject, started_at, id)
) /*sqlite: WITHOUT ROWID*/;
-- login_attempts.pending and pending_at are no longer read or written
-- (pending is set to 0 on insert, as it has no default). They stay while
-- nodes of the previous release, which count in them, may still be
-- running during a rolling upgrade.
