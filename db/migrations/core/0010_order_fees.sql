-- Fees on ordinary (balance) payments, whose money lives in the core
-- store: the fee and its rate (ppm) on the order, and each refund's share.
-- A credit payment's fee is recorded in the credit store.
ALTER TABLE orders ADD COLUMN fee BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN fee_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN fee BIGINT NOT NULL DEFAULT 0;
