-- An owner's resets of a merchant user's secrets, owned by package
-- merchantuser: password_change is 1 while the user logs in with a
-- temporary password an owner set, and must choose its own before the
-- portal serves it anything else; totp_enrol is 1 while the user must
-- enrol a new second factor (an owner cleared its TOTP secret, or gave
-- it a role that needs one): its next login takes the password alone
-- and the portal serves it only the enrolment, whose secret is kept in
-- totp_secret until a code of it is confirmed.
ALTER TABLE merchant_users ADD COLUMN password_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE merchant_users ADD COLUMN totp_enrol INTEGER NOT NULL DEFAULT 0;
-- The console's pages of one merchant's settlement exception requests,
-- newest first, by (created_at, id) after a cursor (owned by package
-- settle); it replaces the index without the id.
CREATE INDEX settlement_exceptions_merchant ON settlement_exceptions (mchid, created_at, id);
DROP INDEX settlement_exceptions_mchid;
-- The console's pages of the notification backlog per merchant (owned
-- by package notify): the waiting events grouped by merchant in mchid
-- order after a cursor, each group's count and oldest read from this
-- index alone.
CREATE INDEX notify_outbox_waiting ON notify_outbox (mchid, pending_since) WHERE due_at > 0;
