-- Each merchant or consumer who has opened a support ticket has a row,
-- owned by package ticket: the lock its openings take. ticket.Open
-- upserts the opener's row before it counts the opener's tickets not yet
-- resolved and files the new one, so on PostgreSQL, whose transactions
-- are READ COMMITTED, the openings of one opener count and insert one at
-- a time and never pass the bound together; on SQLite writers are one at
-- a time already. opener is the ticket.Actor (merchant:MCHID or
-- consumer:ID), opened_at when it last opened a ticket. Retention deletes
-- an opener's row with the last of its tickets.
CREATE TABLE ticket_openers (
  opener TEXT PRIMARY KEY,
  opened_at BIGINT NOT NULL
) /*sqlite: WITHOUT ROWID*/;
