-- Personal data sealed at rest (SM4 envelopes, package seal). A migration
-- holds no key, so it only makes room: each start seals the rows still in
-- clear (consumer.Service.Backfill, onboard.Service.Backfill), resumably
-- and on any number of nodes at once.
--
-- consumers.phone holds the sealed phone; phone_index its keyed SM3 blind
-- index, which login looks the consumer up by and which carries the
-- uniqueness the phone had. NULL until sealed, and for a consumer with no
-- phone (the benchmarks' generated ones, who cannot log in). The table is
-- rebuilt because SQLite cannot drop a column's UNIQUE; its constraints
-- are named so PostgreSQL's names of the old table's do not collide.
ALTER TABLE consumers RENAME TO consumers_plain;
CREATE TABLE consumers (
  id TEXT NOT NULL,
  phone TEXT NOT NULL,
  phone_index TEXT,
  pin_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  CONSTRAINT consumers_id PRIMARY KEY (id),
  CONSTRAINT consumers_phone_index UNIQUE (phone_index)
);
INSERT INTO consumers (id, phone, pin_hash, created_at) SELECT id, phone, pin_hash, created_at FROM consumers_plain;
DROP TABLE consumers_plain;
-- Wrong-login counts were kept per phone in clear; they are now kept per
-- blind index. The counts of the last window are forgotten once.
DELETE FROM login_attempts WHERE subject LIKE 'phone:%';
-- The risk list is looked up by the blind index of the licence number;
-- licence_number and name hold sealed envelopes once sealed.
ALTER TABLE risk_list ADD COLUMN licence_index TEXT;
CREATE UNIQUE INDEX risk_list_licence_index ON risk_list (licence_index);
