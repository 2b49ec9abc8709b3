-- Aggregate codes (聚合码), owned by package aggregate: a merchant's
-- static code for a till or a table, which consumers scan, enter the
-- amount on and pay on credit or from balance. label is what the consumer
-- sees ("Till 3"); description, if set, becomes the orders' description;
-- notify_url, if set, is the orders' notification address. The printed
-- code carries a signed token of the id and mchid; state (active,
-- revoked) is checked at every scan, so a revoked code stops at once.
CREATE TABLE aggregate_codes (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  label TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  notify_url TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX aggregate_codes_mchid ON aggregate_codes (mchid, created_at);
