-- The payer's openid under the order's appid, stored when the order is
-- paid (wxpay.OpenID is an HMAC, not invertible), so the exposure API
-- (POST /v3/pay/instal/exposure, /v3/pay/transactions/exposure) resolves
-- an openid a merchant was shown back to the consumer. '' until paid, and
-- for orders paid before.
ALTER TABLE orders ADD COLUMN payer_openid TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_payer_openid ON orders (payer_openid, mchid) WHERE payer_openid <> '';
-- The exposure API's phone_number_hash (the lowercase hex SHA-256 of the
-- consumer's 11-digit phone) resolves through a keyed index of it: the
-- blind index (HMAC-SM3 under the sealed index key) of that hash, never
-- the bare SHA-256, which a stolen store would give up to a guess of
-- every phone number. NULL until set (new consumers, and the backfill at
-- start for those before), and again once the consumer is forgotten.
ALTER TABLE consumers ADD COLUMN phone_hash_index TEXT;
CREATE INDEX consumers_phone_hash_index ON consumers (phone_hash_index) WHERE phone_hash_index IS NOT NULL;
