-- The clock of a sandbox deployment (serve --sandbox-clock): every node
-- tells the time as its system clock plus offset_us, so the one row moves
-- the time of the whole deployment. An advance claims the row (owner,
-- lease_until, by the system clock), steps the offset day by day and
-- records the last day whose jobs all ran (reached); target_us is the time
-- an unfinished advance goes to, 0 when none is, which the next advance
-- completes first.
CREATE TABLE sandbox_clock (
  id INTEGER PRIMARY KEY,
  offset_us BIGINT NOT NULL,
  target_us BIGINT NOT NULL,
  reached TEXT NOT NULL,
  owner TEXT NOT NULL,
  lease_until BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
INSERT INTO sandbox_clock (id, offset_us, target_us, reached, owner, lease_until, updated_at) VALUES (1, 0, 0, '', '', 0, 0);
