-- The aggregate code an order was made from, when a consumer scanned one
-- and entered the amount ('' for every other order), so the merchant can
-- list a code's orders.
ALTER TABLE orders ADD COLUMN aggregate_code TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_aggregate_code ON orders (mchid, aggregate_code, created_at) WHERE aggregate_code <> '';
