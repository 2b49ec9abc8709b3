-- Fees on credit payments (SPEC §3). The fee, its rate (parts per
-- million) and tier are recorded with the payment; a refund records the
-- part of the fee it returned. The merchant's month-to-date credit volume,
-- which picks the tier, is kept in 16 shards per merchant and month, so no
-- single row serialises a merchant's payments.
ALTER TABLE credit_payments ADD COLUMN fee BIGINT NOT NULL DEFAULT 0;
ALTER TABLE credit_payments ADD COLUMN fee_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credit_payments ADD COLUMN fee_tier TEXT NOT NULL DEFAULT '';
ALTER TABLE credit_refunds ADD COLUMN fee BIGINT NOT NULL DEFAULT 0;
CREATE TABLE fee_volume (
  mchid TEXT NOT NULL,
  month TEXT NOT NULL,
  shard INTEGER NOT NULL,
  volume BIGINT NOT NULL,
  PRIMARY KEY (mchid, month, shard)
);
