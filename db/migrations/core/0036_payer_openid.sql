-- The payer's openid under the order's appid, stored when the order is
-- paid (wxpay.OpenID is an HMAC, not invertible), so the exposure API
-- (POST /v3/pay/instal/exposure, /v3/pay/transactions/exposure) resolves
-- an openid a merchant was shown back to the consumer. '' until paid, and
-- for orders paid before.
ALTER TABLE orders ADD COLUMN payer_openid TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_payer_openid ON orders (payer_openid, mchid) WHERE payer_openid <> '';
