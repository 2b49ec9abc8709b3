-- A merchant's orders, newest first, for the merchant portal's list and
-- its CSV: read by keyset (created_at, id) from this index, so any page of
-- millions of orders costs what the first does. The index of an aggregate
-- code's orders (0038) gains id too, so it still orders a code's page by
-- itself and stays the one its list reads.
CREATE INDEX orders_mchid_created ON orders (mchid, created_at, id);
DROP INDEX orders_aggregate_code;
CREATE INDEX orders_aggregate_code ON orders (mchid, aggregate_code, created_at, id) WHERE aggregate_code <> '';
