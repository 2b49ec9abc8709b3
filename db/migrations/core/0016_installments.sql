-- Installments at payment (issue 13): the installment counts a merchant
-- offers on an order, as "COUNT:SUBSIDY_PERCENT" separated by commas
-- (WeChat Pay's subsidy_plan), and the count the consumer chose when it
-- paid on credit (1: in full; 0: not chosen). The plan itself is in the
-- credit store.
ALTER TABLE orders ADD COLUMN installment_offer TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN installments INTEGER NOT NULL DEFAULT 0;
