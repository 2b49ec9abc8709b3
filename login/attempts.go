package login

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Counter counts wrong logins per subject ('phone:<index>',
// 'source:<address>', 'staff:<name>') in the store's login_attempts, so
// that a lockout holds across restarts and every node shares one count.
// Each attempt whose secret is being checked now is a row of its own in
// login_in_flight, with when it started; an attempt may start only while
// the window's wrong logins and the subject's attempts in flight are
// under the limit. An attempt in flight counts for PendingLease after it
// started at most: one left unsettled by a node that died stops counting
// then, however many attempts start after it, or as soon as its node
// starts again (Start).
//
// Its times are its Clock's, not the store's, so that staff logins keep
// the system's clock in a sandbox whose clock was moved.
type Counter struct {
	DB    *db.DB
	Clock fenfu.Clock
	// Node names the node whose attempts it takes; each row in flight
	// carries it, so that the node, started again under the same name,
	// forgets what its previous process left (Start). Nodes running at
	// once must have different names: a node starting under a live
	// node's name forgets that node's attempts in flight, which then no
	// longer count until they end.
	Node string

	mu        sync.Mutex
	lastSweep time.Time // when expired counts were last deleted
}

// Try is a try taken from a subject's count: an attempt in flight, until
// Settle says how it went.
type Try struct {
	subject string
	window  time.Duration
	started int64     // its row in login_in_flight: when it started, in micros,
	id      int64     // and a random number telling it from others started then
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

// PendingLease is how long an attempt in flight is counted after it
// started. A secret's check ends within seconds; an attempt still
// unsettled after PendingLease is one whose node was killed before it
// settled it, and counting it until its window ends would refuse logins
// that nothing stands against.
const PendingLease = 30 * time.Second

// Take takes a try from subject's count. In one transaction it starts a
// new window if the last has ended (only a new window, or a wrong login
// in Settle, moves the window's end: right logins do not keep old
// failures alive), counts the subject's attempts in flight younger than
// PendingLease, and adds its own if the wrong logins and they are under
// limit. The subject's row in login_attempts is the count's lock: on
// PostgreSQL the upsert locks it, so attempts on any number of nodes
// count and add one at a time and never pass the limit together. When
// the wrong logins alone have reached the limit it reports Locked,
// changing nothing: a refused attempt does not make the lock longer.
// When it is the attempts in flight that fill the count, as when a
// consumer's program logs in for many payments at once, it waits for
// them to finish, for up to takeWait, and then refuses the attempt with
// FREQUENCY_LIMITED as one too many at once, not as locked: nothing was
// wrong.
func (c *Counter) Take(ctx context.Context, subject string, limit int, window time.Duration) (Try, error) {
	t := Try{subject: subject, window: window, id: rand.Int64()}
	start := time.Now()
	for wait := 0; ; wait++ {
		var taken bool
		var failures int
		var until int64
		err := c.DB.Update(ctx, func(tx *db.Tx) error {
			taken = false // a run again after a conflict starts over
			now := c.Clock.Now()
			// pending (0039) has no default; nothing reads it any more.
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (subject, failures, pending, expires_at) VALUES ($1, 0, 0, $2)
				ON CONFLICT (subject) DO UPDATE SET failures = 0, expires_at = EXCLUDED.expires_at
				WHERE login_attempts.expires_at <= $3`, subject, db.Micros(now.Add(window)), db.Micros(now)); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO login_in_flight (subject, started_at, id, node)
				SELECT subject, CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($6 AS TEXT) FROM login_attempts
				WHERE subject = $1 AND failures + (SELECT COUNT(*) FROM login_in_flight WHERE subject = $1 AND started_at > $4) < $5`,
				subject, db.Micros(now), t.id, db.Micros(now.Add(-PendingLease)), limit, c.Node)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				taken, t.started = err == nil, db.Micros(now)
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

// Settle ends an attempt in flight, deleting its row: a wrong login adds
// to the count and starts its window again, in the same transaction, so
// the count never drops between the two; a right one with clear starts
// the count over. It runs even if ctx has ended, so a try is not left
// taken; if it fails, the attempt counts until PendingLease after it
// started, and the error says so for the caller's log.
func (c *Counter) Settle(ctx context.Context, t *Try, wrong, clear bool) error {
	if t == nil || t.Locked {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	const end = `DELETE FROM login_in_flight WHERE subject = $1 AND started_at = $2 AND id = $3`
	var err error
	if !wrong && !clear {
		_, err = c.DB.Exec(ctx, end, t.subject, t.started, t.id)
	} else {
		err = c.DB.Update(ctx, func(tx *db.Tx) error {
			if wrong {
				err := tx.QueryRowContext(ctx, `UPDATE login_attempts SET failures = failures + 1, expires_at = $2 WHERE subject = $1 RETURNING failures`,
					t.subject, db.Micros(c.Clock.Now().Add(t.window))).Scan(&t.Failures)
				if err != nil && !errors.Is(err, sql.ErrNoRows) { // no row: swept meanwhile, nothing left to count in
					return err
				}
			} else if _, err := tx.ExecContext(ctx, `UPDATE login_attempts SET failures = 0 WHERE subject = $1 AND failures > 0`, t.subject); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, end, t.subject, t.started, t.id)
			return err
		})
	}
	if err != nil {
		return fenfu.Internal("login.Settle", err)
	}
	return nil
}

// Start forgets the attempts in flight that Node's previous process
// left, and reports how many: a node killed while checking secrets never
// settles them, and once it is started again none of them can still be
// being checked. A node calls it as it starts, before it takes a try, as
// it deletes every row of its name. Attempts of a node that does not
// come back stop counting PendingLease after they started.
func (c *Counter) Start(ctx context.Context) (forgotten int, err error) {
	res, err := c.DB.Exec(ctx, `DELETE FROM login_in_flight WHERE node = $1`, c.Node)
	if err != nil {
		return 0, fenfu.Internal("login.Start", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fenfu.Internal("login.Start", err)
	}
	return int(n), nil
}

// Sweep deletes expired counts, and attempts in flight past
// PendingLease, about once a minute, so the tables hold only the current
// windows and attempts. It reports whether it was due, so that its
// caller can sweep its own expired rows (sessions) at the same pace.
func (c *Counter) Sweep(ctx context.Context, now time.Time) (due bool, err error) {
	c.mu.Lock()
	due = now.Sub(c.lastSweep) > time.Minute
	if due {
		c.lastSweep = now
	}
	c.mu.Unlock()
	if !due {
		return false, nil
	}
	if _, err := c.DB.Exec(ctx, `DELETE FROM login_attempts WHERE expires_at <= $1`, db.Micros(now)); err != nil {
		return true, fenfu.Internal("login.Sweep", err)
	}
	if _, err := c.DB.Exec(ctx, `DELETE FROM login_in_flight WHERE started_at <= $1`, db.Micros(now.Add(-PendingLease))); err != nil {
		return true, fenfu.Internal("login.Sweep", err)
	}
	return true, nil
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE subject IN (`+ph+`)`, args...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM login_in_flight WHERE subject IN (`+ph+`)`, args...)
	return err
}

// Limits bound an account's sessions and wrong logins: a login's session
// lasts SessionTTL; LockoutFailures wrong logins of the account, each
// within LockoutWindow of the one before, lock it on every node until
// LockoutWindow after the last. Staff and merchant users have their own.
// Sources bound the failed logins of one address, whichever accounts
// they name.
type Limits struct {
	SessionTTL      time.Duration
	LockoutFailures int
	LockoutWindow   time.Duration
	Sources
}

// Sources bound the failed logins of one address (fenfu.Source: an IPv6
// client counts as its /64): SourceFailures of them, each within
// SourceWindow of the one before, refuse the address on every node until
// SourceWindow after the last, so that one address cannot try a password
// on account after account. A right login does not count against its
// address.
type Sources struct {
	SourceFailures int
	SourceWindow   time.Duration
}

// DefaultLimits: sessions of 8 hours; 5 wrong logins lock the account
// for 15 minutes; 20 failed logins from one address refuse it for 15
// minutes.
func DefaultLimits() Limits {
	return Limits{SessionTTL: 8 * time.Hour, LockoutFailures: 5, LockoutWindow: 15 * time.Minute,
		Sources: Sources{SourceFailures: 20, SourceWindow: 15 * time.Minute}}
}

// OrDefaults is l with each zero field at DefaultLimits'.
func (l Limits) OrDefaults() Limits {
	d := DefaultLimits()
	if l.SessionTTL <= 0 {
		l.SessionTTL = d.SessionTTL
	}
	if l.LockoutFailures <= 0 {
		l.LockoutFailures = d.LockoutFailures
	}
	if l.LockoutWindow <= 0 {
		l.LockoutWindow = d.LockoutWindow
	}
	l.Sources = l.Sources.OrDefaults()
	return l
}

// OrDefaults is s with each zero field at DefaultLimits'.
func (s Sources) OrDefaults() Sources {
	d := DefaultLimits().Sources
	if s.SourceFailures <= 0 {
		s.SourceFailures = d.SourceFailures
	}
	if s.SourceWindow <= 0 {
		s.SourceWindow = d.SourceWindow
	}
	return s
}

// SourceRefusal is the answer to a login from an address whose count of
// failed logins is locked (Try.Locked, of a Sources count):
// FREQUENCY_LIMITED, saying when, Beijing time, the address may try
// again, or to log in from another network.
func (t Try) SourceRefusal() *fenfu.Error {
	at := t.Until.In(fenfu.Shanghai).Format("15:04")
	e := fenfu.Errorf(fenfu.FrequencyLimited, "too many failed logins from this network; try again after %s", at)
	e.Remedy = fmt.Sprintf("Wait until %s (Beijing time) and log in again, or log in from another network.", at)
	return e
}

// Refusal is the answer to a login of an account whose count is locked
// (Try.Locked): FREQUENCY_LIMITED, naming the account and when, Beijing
// time, it may try again, with remedy.
func (t Try) Refusal(account, remedy string) error {
	e := fenfu.Errorf(fenfu.FrequencyLimited, "too many wrong logins of %s; try again after %s", account, t.Until.In(fenfu.Shanghai).Format("15:04"))
	e.Remedy = remedy
	return e
}
