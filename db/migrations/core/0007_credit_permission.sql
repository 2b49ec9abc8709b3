-- The credit-pay permission of the product center, and its suspension by
-- risk screening. Sandbox merchants may always pay on credit; production
-- merchants only once activated and while not suspended.
ALTER TABLE merchants ADD COLUMN credit_pay INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merchants ADD COLUMN credit_suspended INTEGER NOT NULL DEFAULT 0;
