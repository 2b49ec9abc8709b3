-- Every credit payment reads its consumer's captured payments of the day
-- and the month and the latest run at one merchant (the risk features),
-- and the monthly statement reads a month of them. The index of
-- (consumer_id, created_at) made each of those rows a lookup of the table
-- row for its state, amount and merchant: up to a month's payments and a
-- run's 64 rows looked up again at every payment. This index holds the
-- captured rows alone, with every column those reads take, in their
-- order, so they read the index and no table row.
DROP INDEX credit_payments_consumer;
CREATE INDEX credit_payments_captured ON credit_payments (consumer_id, created_at, attempt_id, amount, mchid) WHERE state = 'CAPTURED';
