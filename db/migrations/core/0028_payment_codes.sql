-- Consumers' payment codes (付款码), owned by package paycode: an
-- 18-digit code shown on the consumer's phone as a barcode and a QR code,
-- which a merchant's till scans and sends with the order. Only a SHA-256
-- of the code is kept, so reading the table gives no code that pays. A
-- code is bound to its consumer and the channel the consumer chose, lives
-- until expires_at, and is used once: order_id is the order it paid, ''
-- while unused. Issuing a consumer a new code ends its earlier unused
-- ones. Rows are forgotten a day after they expire.
CREATE TABLE payment_codes (
  code_hash TEXT PRIMARY KEY,
  consumer_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  order_id TEXT NOT NULL DEFAULT '',
  used_at BIGINT NOT NULL DEFAULT 0
) /*sqlite: WITHOUT ROWID*/;
CREATE INDEX payment_codes_consumer ON payment_codes (consumer_id, expires_at);
CREATE INDEX payment_codes_expiry ON payment_codes (expires_at);
