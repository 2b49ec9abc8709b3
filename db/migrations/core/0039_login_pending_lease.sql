-- An attempt in flight is counted in login_attempts.pending until its
-- node settles it. A node killed while checking a PIN never does, so the
-- count also keeps when its last attempt started: once no attempt has
-- started for login.PendingLease, the attempts still counted are ones no
-- node is checking, and they are forgotten. Without this, a few crashes
-- under load filled a busy address's count with attempts that would never
-- end, and every login from it was refused until the window closed.
ALTER TABLE login_attempts ADD COLUMN pending_at BIGINT NOT NULL DEFAULT 0;
