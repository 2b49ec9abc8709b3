-- A payment code pays one order: besides the code's own row (package
-- paycode), no two orders may name the same code, so a code row edited
-- back to unused cannot pay a second order either.
CREATE UNIQUE INDEX orders_code_hash ON orders (code_hash) WHERE code_hash <> '';
