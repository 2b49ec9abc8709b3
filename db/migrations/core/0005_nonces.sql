-- Request nonces seen within the replay window, shared by every node on
-- the store (used on PostgreSQL; a SQLite store has one host).
CREATE TABLE request_nonces (
  mchid TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (mchid, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at);
