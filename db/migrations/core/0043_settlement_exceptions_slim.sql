-- What a settlement exception request's ticket now keeps (0042) leaves
-- the request: its description, status, answer, due time and answer time.
DROP INDEX settlement_exceptions_open;
ALTER TABLE settlement_exceptions DROP COLUMN description;
ALTER TABLE settlement_exceptions DROP COLUMN status;
ALTER TABLE settlement_exceptions DROP COLUMN resolution;
ALTER TABLE settlement_exceptions DROP COLUMN due_at;
ALTER TABLE settlement_exceptions DROP COLUMN resolved_at;
