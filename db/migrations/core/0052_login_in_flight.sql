-- Each login attempt whose secret is being checked is a row of its own,
-- owned by package login, with when it started and the node checking it:
-- a subject's count is its wrong logins (login_attempts.failures) and its
-- rows here younger than login.PendingLease. A node killed while checking
-- secrets leaves its rows behind. When it starts again under its name
-- (serve's --node-name) it deletes them before it serves, as none of its
-- new process's can exist yet; a node that does not come back leaves them
-- counting until PendingLease after each started, however many attempts
-- start after it. 0039's one lease per subject (login_attempts.pending_at),
-- renewed by every attempt, never ran out on an address in constant use,
-- which kept every crash's attempts counted.
-- The key orders a subject's rows by start, so counting the live ones
-- reads only those. The minute's sweep of stale rows and a node's start
-- read the whole table, which holds only attempts being checked and those
-- of the last minute or so that were never settled; node is not indexed,
-- so that a login writes no more than its row.
CREATE TABLE login_in_flight (
  subject TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  id BIGINT NOT NULL,
  node TEXT NOT NULL,
  PRIMARY KEY (subject, started_at, id)
) /*sqlite: WITHOUT ROWID*/;
-- login_attempts.pending and pending_at are no longer read or written
-- (pending is set to 0 on insert, as it has no default). They stay while
-- nodes of the previous release, which count in them, may still be
-- running during a rolling upgrade.
