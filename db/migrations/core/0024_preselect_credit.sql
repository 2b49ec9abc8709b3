-- The e-commerce "pay with credit" box: a merchant's order may ask the
-- cashier to open on 分付 with its installment choices (preselect_credit
-- on the v3 create request). 0: the cashier chooses as it always did.
ALTER TABLE orders ADD COLUMN preselect_credit INTEGER NOT NULL DEFAULT 0;
