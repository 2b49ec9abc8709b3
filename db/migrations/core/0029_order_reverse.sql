-- Code payment (付款码支付): a MICROPAY order the merchant reversed
-- (撤销) after it was paid is refunded in full and keeps its REFUND
-- state, so its money reads as every refunded order's; reversed_at marks
-- it, and the protocol then answers trade_state REVOKED. An unpaid order
-- reversed is in state REVOKED and moved no money. 0: not reversed.
ALTER TABLE orders ADD COLUMN reversed_at BIGINT NOT NULL DEFAULT 0;
-- Code payments waiting for their consumers' PIN, which recovery moves to
-- PAYERROR once their window has passed.
CREATE INDEX orders_waiting ON orders (expires_at) WHERE state = 'NOTPAY' AND consumer_id <> '';
