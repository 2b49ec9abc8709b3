-- A merchant's version goes up with every change to its row or its keys,
-- in the change's transaction, so a node that caches a merchant can tell
-- with one primary-key read whether its copy is still current: a rotated
-- API key or a retired signing key is then seen by every node at once.
ALTER TABLE merchants ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
