-- A merchant's paid orders by time, with every column a day's trade bill
-- shows and settlement sums: the bills read a merchant-day as one range of
-- this index, in order, instead of a row of the table per order (a
-- merchant's rows are scattered through the table, one in every few pages,
-- as traffic interleaves merchants). It replaces the index of (mchid,
-- paid_at) it extends, so an order still enters one index when paid.
DROP INDEX orders_paid;
CREATE INDEX orders_paid ON orders (mchid, paid_at, id, state, channel, total, fee, plan_fee, fee_rate, fee_tier, appid,
  out_trade_no, consumer_id, trade_type, currency, description, attach) WHERE paid_at > 0;
