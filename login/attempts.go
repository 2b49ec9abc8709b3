package login

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Counter counts wrong logins per subject ('phone:<index>',
// 'source:<address>', 'staff:<name>') in the store's login_attempts, so
// that a lockout holds across restarts and every node shares one count.
// failures counts the wrong logins of a window, pending the attempts
// whose secret is being checked now; an attempt may start only while
// failures + pending is under the limit. Attempts in flight with none
// started for PendingLease are forgotten: their node died unsettled.
type Counter struct {
	DB    *db.DB
	Clock fenfu.Clock

	mu        sync.Mutex
	lastSweep time.Time // when expired counts were last deleted
}

// Try is a try taken from a subject's count: an attempt in flight, until
// Settle says how it went.
type Try struct {
	subject string
	window  time.Duration
	Locked  bool      // no try was taken: the count is at its limit
	Until   time.Time // when a locked count's window ends
	// Failures is, once Settle counted the try as a wrong login, the
	// wrong logins of the window with it.
	Failures int
}

// takeWait bounds how long Take waits for attempts in flight to finish
// before it refuses the attempt as one too many at once. It is real time,
// not the business clock: what it waits for is other requests' hashing,
// which is slow on a loaded machine (40 logins at once with a limit of 5
// wait for 8 rounds of argon2id).
var takeWait = 10 * time.Second

// PendingLease is how long the attempts in flight of a count are believed
// after the last of them started. A PIN check ends within seconds; attempts
// counted in flight with none started for longer are ones whose node was
// killed before it settled them, and Take forgets them instead of letting
// them fill the count until its window ends.
const PendingLease = 30 * time.Second

// Take takes a try from subject's count. In one statement it starts a new
// window if the last has ended (only a new window, or a wrong login in
// Settle, moves the window's end: right logins do not keep old failures
// alive), or counts one more attempt in flight if the wrong logins and
// the attempts in flight are under limit. When the wrong logins alone
// have reached the limit it reports Locked, changing nothing: a refused
// attempt does not make the lock longer. When it is the attempts in
// flight that fill the count, as when a consumer's program logs in for
// many payments at once, it waits for them to finish, for up to takeWait,
// and then refuses the attempt with FREQUENCY_LIMITED as one too many at
// once, not as locked: nothing was wrong.
func (c *Counter) Take(ctx context.Context, subject string, limit int, window time.Duration) (Try, error) {
	t := Try{subject: subject, window: window}
	start := time.Now()
	for wait := 0; ; wait++ {
		var taken bool
		var failures int
		var until int64
		err := c.DB.Update(ctx, func(tx *db.Tx) error {
			var n int
			err := tx.QueryRowContext(ctx, `INSERT INTO login_attempts (subject, failures, pending, expires_at, pending_at) VALUES ($1, 0, 1, $2, $3)
				ON CONFLICT (subject) DO UPDATE SET
					failures = CASE WHEN login_attempts.expires_at <= $3 THEN 0 ELSE login_attempts.failures END,
					pending = CASE WHEN login_attempts.expires_at <= $3 OR login_attempts.pending_at <= $5 THEN 1 ELSE login_attempts.pending + 1 END,
					expires_at = CASE WHEN login_attempts.expires_at <= $3 THEN EXCLUDED.expires_at ELSE login_attempts.expires_at END,
					pending_at = $3
				WHERE login_attempts.expires_at <= $3
					OR login_attempts.failures + CASE WHEN login_attempts.pending_at <= $5 THEN 0 ELSE login_attempts.pending END < $4
				RETURNING pending`, subject, db.Micros(tx.Now.Add(window)), db.Micros(tx.Now), limit, db.Micros(tx.Now.Add(-PendingLease))).Scan(&n)
			if err == nil {
				taken = true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT failures, expires_at FROM login_attempts WHERE subject = $1`, subject).Scan(&failures, &until)
		})
		if err != nil {
			return t, fenfu.Internal("login.Take", err)
		}
		if taken {
			return t, nil
		}
		if failures >= limit {
			t.Locked, t.Until = true, db.Time(until)
			return t, nil
		}
		if time.Since(start) >= takeWait {
			e := fenfu.Errorf(fenfu.FrequencyLimited, "too many logins at once for this account or network")
			e.Remedy = "Log in again in a few seconds: the logins already under way are still being checked."
			return t, e
		}
		select {
		case <-time.After(time.Duration(10+10*min(wait, 9)) * time.Millisecond):
		case <-ctx.Done():
			return t, fenfu.Internal("login.Take", ctx.Err())
		}
	}
}

// Settle ends an attempt in flight: a wrong login adds to the count and
// starts its window again; a right one with clear starts the count over.
// It runs even if ctx has ended, so a try is not left taken; if it fails,
// the count keeps the attempt until its window ends, and the error says
// so for the caller's log.
func (c *Counter) Settle(ctx context.Context, t *Try, wrong, clear bool) error {
	if t == nil || t.Locked {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	q := `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE subject = $1`
	args := []any{t.subject}
	switch {
	case wrong:
		err := c.DB.Update(ctx, func(tx *db.Tx) error {
			err := tx.QueryRowContext(ctx, `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END,
				failures = failures + 1, expires_at = $2 WHERE subject = $1 RETURNING failures`,
				t.subject, db.Micros(c.Clock.Now().Add(t.window))).Scan(&t.Failures)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // swept meanwhile: nothing left to count in
			}
			return err
		})
		if err != nil {
			return fenfu.Internal("login.Settle", err)
		}
		return nil
	case clear:
		q = `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END, failures = 0 WHERE subject = $1`
	}
	if _, err := c.DB.Exec(ctx, q, args...); err != nil {
		return fenfu.Internal("login.Settle", err)
	}
	return nil
}

// Sweep deletes expired counts about once a minute, so the table holds
// only the current windows. It reports whether it was due, so that its
// caller can sweep its own expired rows (sessions) at the same pace.
func (c *Counter) Sweep(ctx context.Context, now time.Time) (due bool, err error) {
	c.mu.Lock()
	due = now.Sub(c.lastSweep) > time.Minute
	if due {
		c.lastSweep = now
	}
	c.mu.Unlock()
	if due {
		if _, err := c.DB.Exec(ctx, `DELETE FROM login_attempts WHERE expires_at <= $1`, db.Micros(now)); err != nil {
			return true, fenfu.Internal("login.Sweep", err)
		}
	}
	return due, nil
}

// Gate bounds how many secrets are checked at once, so that concurrent
// logins cannot take more memory than the slots' share of argon2id's.
type Gate chan struct{}

// NewGate returns a gate with one slot per processor.
func NewGate() Gate { return make(Gate, runtime.GOMAXPROCS(0)) }

// Check checks secret against stored with check (Check, or a test's
// counter), waiting for a free slot.
func (g Gate) Check(ctx context.Context, check func(stored, secret string) (ok, stale bool), stored, secret string) (ok, stale bool, err error) {
	select {
	case g <- struct{}{}:
		defer func() { <-g }()
	case <-ctx.Done():
		return false, false, fenfu.Internal("login.Check", ctx.Err())
	}
	ok, stale = check(stored, secret)
	return ok, stale, nil
}

// Forget deletes the counts of subjects in the caller's transaction, as
// when the person they name is forgotten.
func Forget(ctx context.Context, tx *db.Tx, subjects []string) error {
	if len(subjects) == 0 {
		return nil
	}
	ph, args := db.In(subjects, 0)
	_, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE subject IN (`+ph+`)`, args...)
	return err
}
