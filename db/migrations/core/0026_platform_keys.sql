-- The platform's keys and secrets live in the core store, sealed under the
-- master key, so a node needs only the master key to serve: every node
-- sharing the store signs with the same keys and sees a rotation step
-- within --keys-poll-every. A migration holds no key, so it only makes
-- room: the first start of a node on the store fills the tables, from the
-- data directory's key files when it has them (same key IDs and
-- certificates), else with new keys.
--
-- platform_keyring is one row once the tables are filled; its version is
-- raised by every rotation step, and nodes poll it.
CREATE TABLE platform_keyring (
  id INTEGER NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  CONSTRAINT platform_keyring_id PRIMARY KEY (id)
);
-- A platform signing key in its slot (current, next or previous) of its
-- scheme: the private key is a sealed PEM, bound to its key_id.
CREATE TABLE platform_keys (
  scheme TEXT NOT NULL,
  slot TEXT NOT NULL,
  key_id TEXT NOT NULL,
  private_key TEXT NOT NULL,
  certificate TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  CONSTRAINT platform_keys_slot PRIMARY KEY (scheme, slot),
  CONSTRAINT platform_keys_key_id UNIQUE (key_id)
);
-- The platform's secrets, each sealed and bound to its name: the secret
-- that signs QR tokens and cashier sessions, and the blind-index key
-- (initialised from the master current at the first start, so the
-- indexes written before stay valid whatever master comes later).
CREATE TABLE platform_secrets (
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  CONSTRAINT platform_secrets_name PRIMARY KEY (name)
);
