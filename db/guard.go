package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Guards. Some work may stand only if checks made at its start still hold
// once it is done: a signed merchant request, verified with a cached key,
// stands only if its nonce is fresh and the merchant's keys unchanged.
// Written as one statement that fails when they do not hold, such checks
// need no round trip of their own on PostgreSQL: a Guard rides with the
// next statement its context runs on the store, before it, in one pgx
// batch. Outside a transaction the batch is one implicit transaction, so
// a guard that fails undoes itself and the statement after it, which does
// not run, and a statement that fails undoes the guard, which then does
// not hold either. A transaction does not carry a guard, since its
// rollback would undo the guard's own writes: the guard is sent alone
// before its BEGIN.
// Work that runs no statement on the store sends its guard with Hold.
// Once a guard failed, the work's context is cancelled (its cause
// ErrGuard), so that nothing more runs under it. SQLite has no round
// trips to save: there Guard sends the guard at once, so the work runs
// under a cancelled context if it failed.

// Guard is a statement that fails when the work of the context it is
// attached to must not stand. See DB.Guard.
type Guard struct {
	d    *DB
	q    string
	args []any

	mu     sync.Mutex
	state  guardState
	err    error         // the guard's error, once settled
	done   chan struct{} // closed once settled
	cancel context.CancelCauseFunc
}

type guardState int

const (
	guardPending guardState = iota // waits for a statement to carry it
	guardSending                   // sent, its result not read yet
	guardHeld                      // ran without error
	guardFailed                    // the server refused it: its checks did not hold
	guardBroken                    // its outcome is unknown (the connection failed)
)

type guardKey struct{}

// ErrGuard is the error of a statement that did not run because the
// guard sent before it failed.
var ErrGuard = errors.New("db: the guard sent before this statement failed")

// Guard returns ctx with a guard attached: q, a statement with args that
// fails when the work done under ctx must not stand. On PostgreSQL the
// next statement run under ctx on the store carries it, in the same
// round trip (see Guards); Hold tells whether it held.
func (d *DB) Guard(ctx context.Context, q string, args ...any) (context.Context, *Guard) {
	g := &Guard{d: d, q: q, args: args, done: make(chan struct{})}
	ctx, g.cancel = context.WithCancelCause(ctx)
	ctx = context.WithValue(ctx, guardKey{}, g)
	if d.Engine == SQLite {
		_, _ = g.Hold(ctx)
	}
	return ctx, g
}

// Hold reports whether the guard held: it waits for the statement that
// carries it, or sends it alone now if none did. An error means its
// outcome is unknown.
func (g *Guard) Hold(ctx context.Context) (bool, error) {
	if g.take() {
		_, err := g.d.Exec(ctx, g.q, g.args...)
		if err != nil && g.d.Engine == SQLite {
			g.settle(guardFailed, err)
		} else {
			g.finish(err)
		}
	}
	select {
	case <-g.done:
	default: // sending under another statement
		select {
		case <-g.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == guardBroken {
		return false, g.err
	}
	return g.state == guardHeld, nil
}

// take marks the guard sent if it was waiting, reporting whether it was.
func (g *Guard) take() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != guardPending {
		return false
	}
	g.state = guardSending
	return true
}

// restore puts back a guard taken but not sent.
func (g *Guard) restore() {
	g.mu.Lock()
	g.state = guardPending
	g.mu.Unlock()
}

func (g *Guard) settle(s guardState, err error) {
	g.mu.Lock()
	if g.state != guardSending {
		g.mu.Unlock()
		return // settled before
	}
	g.state, g.err = s, err
	g.mu.Unlock()
	if s != guardHeld {
		g.cancel(ErrGuard)
	}
	close(g.done)
}

// guardFor takes the guard ctx holds for store d, if one waits to be sent.
func guardFor(ctx context.Context, d *DB) *Guard {
	g, _ := ctx.Value(guardKey{}).(*Guard)
	if g == nil || g.d != d || !g.take() {
		return nil
	}
	return g
}

// read reads the result of a guard sent first in a batch, the batch's
// next, and returns the error that fails the statement after it. A guard
// that failed is settled; one that ran waits for the outcome of the
// statement it rode with (finish); one not sent at all is put back, to go
// with the statement when it is tried again on another connection.
func (g *Guard) read(br pgx.BatchResults) error {
	_, err := br.Exec()
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case pgconn.SafeToRetry(err):
		g.restore()
		return driver.ErrBadConn
	case errors.As(err, &pe):
		g.settle(guardFailed, err)
		return fmt.Errorf("%w: %w", ErrGuard, err)
	default:
		g.settle(guardBroken, err)
		return err
	}
}

// finish settles a guard that ran by the outcome of its implicit
// transaction, err (that of the statement it rode with and of the batch's
// end): its writes stand only if that committed.
func (g *Guard) finish(err error) {
	var pe *pgconn.PgError
	switch {
	case err == nil:
		g.settle(guardHeld, nil)
	case errors.As(err, &pe):
		g.settle(guardFailed, err)
	default:
		g.settle(guardBroken, err)
	}
}

// alone sends a guard by itself, before a transaction that cannot carry
// it, and returns the error that fails what was to follow it.
func (c *lazyConn) alone(ctx context.Context, g *Guard) error {
	b := &pgx.Batch{}
	b.Queue(g.q, g.args...)
	br := c.Conn.Conn().SendBatch(ctx, b)
	err := g.read(br)
	cerr := br.Close()
	if err != nil {
		return err
	}
	g.finish(cerr)
	if cerr != nil {
		return fmt.Errorf("%w: %w", ErrGuard, cerr)
	}
	return nil
}
