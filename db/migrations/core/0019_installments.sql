-- Installments at payment (issue 13): the installment counts a merchant
-- offers on an order, as "COUNT:SUBSIDY_PERCENT" separated by commas
-- (WeChat Pay's subsidy_plan), and the count the consumer chose when it
-- paid on credit (1: in full; 0: not chosen). The plan itself is in the
-- credit store.
ALTER TABLE orders ADD COLUMN installment_offer TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN installments INTEGER NOT NULL DEFAULT 0;
-- A merchant-borne installment fee (subsidy_percent 100) is taken from the
-- merchant's settlement beside the payment's fee, and a refund returns its
-- share of it: plan_fee on the order and on each refund.
ALTER TABLE orders ADD COLUMN plan_fee BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN plan_fee BIGINT NOT NULL DEFAULT 0;
-- A settlement shows the installment fees merchants bore, and the shares
-- of them its refunds returned, apart from the payment fees.
ALTER TABLE settlements ADD COLUMN plan_fees BIGINT NOT NULL DEFAULT 0;
ALTER TABLE settlements ADD COLUMN refund_plan_fees BIGINT NOT NULL DEFAULT 0;
