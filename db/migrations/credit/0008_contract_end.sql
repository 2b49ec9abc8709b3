-- A consumer's credit contract ends when staff close its line (state
-- CLOSED), which only a line with nothing used may be; closed_at is when,
-- and retention counts the authorization's period from it.
ALTER TABLE credit_lines ADD COLUMN closed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX credit_lines_closed ON credit_lines (closed_at) WHERE closed_at > 0;
