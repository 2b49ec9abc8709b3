// Package db opens fenfu's stores on SQLite or PostgreSQL, applies their
// embedded migrations, runs transactions and reads a query's rows (All,
// Collect, Each). It keeps the few differences between the two engines in
// one place; every other package writes one SQL dialect ($n placeholders,
// RETURNING, ON CONFLICT) that both accept. On PostgreSQL it counts round
// trips (RoundTrips, Tally), sends a transaction's BEGIN with its first
// statement, holds the writes run Later for the next statement or the
// COMMIT, sends a request's Guard with its next statement, sends the
// reads run Ahead with the next statement, and the COMMIT too when told
// to CommitNext.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Engine names a database engine.
type Engine string

// Supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Options tunes how a store is opened.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "NORMAL" (default; durable
	// against process crashes, may lose the last commits on power loss) or
	// "FULL" (durable against power loss). Ignored for PostgreSQL.
	Synchronous string
	// MaxConns caps the connection pool (PostgreSQL) or the reader pool
	// (SQLite). Zero means a default.
	MaxConns int
	// CacheKiB is SQLite's page cache per connection, in KiB; zero means
	// DefaultCacheKiB. A cached page costs about twice its size in the
	// process: the allocator serves a 4 KiB page with its header from an
	// 8 KiB slot. Ignored for PostgreSQL.
	CacheKiB int
}

// DefaultCacheKiB is SQLite's page cache per connection unless
// Options.CacheKiB says otherwise: 64 MiB.
const DefaultCacheKiB = 64 << 10

// DB is one store: a writer pool and a reader pool over the same database.
// On SQLite the writer pool has a single connection, so writers in this
// process queue in Go instead of spinning on the file lock; on PostgreSQL
// both pools are the same.
type DB struct {
	Engine Engine
	Name   string // store name, e.g. "core" or "credit"
	W      *sql.DB
	R      *sql.DB
	Clock  fenfu.Clock

	wstmts, rstmts stmtCache
	writer         *writer // SQLite's group commit; nil on PostgreSQL
	stopCheckpoint chan struct{}
	checkpointDone chan struct{}
	commits        atomic.Pointer[func(time.Duration)] // ObserveCommits
	trips          atomic.Int64                        // RoundTrips
	bells          sync.Map                            // name → *Bell
	retries        atomic.Pointer[func(string)]        // ObserveRetries
}

// Reasons a transaction is run again, as ObserveRetries is told them.
const (
	RetrySerialization = "serialization" // PostgreSQL 40001
	RetryDeadlock      = "deadlock"      // PostgreSQL 40P01
	RetryBusy          = "busy"          // SQLite BUSY (another connection writes)
	RetryLocked        = "locked"        // SQLite LOCKED (a table lock in this connection's cache)
)

// ObserveRetries has f told, with its reason (RetrySerialization,
// RetryDeadlock, RetryBusy or RetryLocked), each time a write is run again
// because the engine reported a transient conflict: the conflicts between
// this process's writers and those of any other node on the same store.
// It replaces any f given before; nil stops the telling.
func (d *DB) ObserveRetries(f func(reason string)) {
	if f == nil {
		d.retries.Store(nil)
		return
	}
	d.retries.Store(&f)
}

// retried tells ObserveRetries's f of a retry.
func (d *DB) retried(reason string) {
	if f := d.retries.Load(); f != nil {
		(*f)(reason)
	}
}

// ObserveCommits has f told how long each commit of a write transaction
// (Update) took: on SQLite a group commit, which several transactions
// share, once. It replaces any f given before; nil stops the telling.
func (d *DB) ObserveCommits(f func(time.Duration)) {
	if f == nil {
		d.commits.Store(nil)
		return
	}
	d.commits.Store(&f)
}

// commit commits a write transaction, timed for ObserveCommits.
func (d *DB) commit(stx *sql.Tx) error {
	start := time.Now()
	err := stx.Commit()
	if f := d.commits.Load(); f != nil {
		(*f)(time.Since(start))
	}
	return err
}

// Pools returns the store's connection pools by their part: "read" and
// "write" on SQLite, "shared" on PostgreSQL, whose one pool does both.
func (d *DB) Pools() map[string]*sql.DB {
	if d.R == d.W {
		return map[string]*sql.DB{"shared": d.W}
	}
	return map[string]*sql.DB{"read": d.R, "write": d.W}
}

// checkpointEvery is how often SQLite's WAL is copied back into the
// database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer copies the WAL into the database in the background with
// PASSIVE checkpoints, which never block writers or readers. Once a
// checkpoint has copied every frame, the next write starts the WAL over,
// and journal_size_limit trims the file, so it does not grow.
func (d *DB) checkpointer() {
	defer close(d.checkpointDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stopCheckpoint:
			_, _ = d.R.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return
		case <-t.C:
		}
		_, _ = d.R.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// Open opens the store at dsn. A DSN that starts with postgres:// or
// postgresql:// selects PostgreSQL; anything else is a SQLite file path
// (optionally prefixed with sqlite: or file:).
func Open(ctx context.Context, name, dsn string, clock fenfu.Clock, opt Options) (*DB, error) {
	if clock == nil {
		clock = fenfu.SystemClock{}
	}
	d := &DB{Name: name, Clock: clock}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		d.Engine = Postgres
		pc, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("db: open %s store: %w", name, err)
		}
		// Every connection counts its round trips (RoundTrips, Tally).
		pc.DialFunc = d.dial(pc.DialFunc)
		pc.Tracer = tracer{d}
		pool := sql.OpenDB(lazyConnector{Connector: stdlib.GetConnector(*pc), d: d})
		n := opt.MaxConns
		if n <= 0 {
			n = 16
		}
		pool.SetMaxOpenConns(n)
		pool.SetMaxIdleConns(n)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		d.W, d.R = pool, pool
	default:
		d.Engine = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return nil, fmt.Errorf("db: %s store: empty SQLite path", name)
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("db: %s store: %w", name, err)
			}
		}
		if err := private(path); err != nil {
			return nil, fmt.Errorf("db: %s store: %w", name, err)
		}
		sync := strings.ToUpper(opt.Synchronous)
		if sync == "" {
			sync = "NORMAL"
		}
		if sync != "NORMAL" && sync != "FULL" {
			return nil, fmt.Errorf("db: %s store: synchronous must be NORMAL or FULL, not %q", name, opt.Synchronous)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Add("_pragma", "foreign_keys(ON)")
		cache := opt.CacheKiB
		if cache <= 0 {
			cache = DefaultCacheKiB
		}
		q.Add("_pragma", "cache_size(-"+strconv.Itoa(cache)+")")
		q.Add("_pragma", "temp_store(MEMORY)")
		// The writer never checkpoints: a checkpoint inside a commit
		// would stall every queued write behind it. checkpointer does it
		// in the background instead.
		wq := url.Values{"_pragma": append(append([]string{}, q["_pragma"]...), "wal_autocheckpoint(0)")}
		w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode()+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("db: open %s store: %w", name, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("db: open %s store: %w", name, err)
		}
		n := opt.MaxConns
		if n <= 0 {
			n = 4
		}
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		d.W, d.R = w, r
	}
	if err := d.W.PingContext(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: %s store unreachable: %w", name, err)
	}
	if d.Engine == SQLite {
		d.writer = newWriter(d)
		d.stopCheckpoint = make(chan struct{})
		d.checkpointDone = make(chan struct{})
		go d.checkpointer()
	}
	return d, nil
}

// Close closes both pools.
func (d *DB) Close() error {
	if d.writer != nil {
		d.writer.close()
		close(d.stopCheckpoint)
		<-d.checkpointDone
	}
	d.wstmts.close()
	d.rstmts.close()
	err := d.W.Close()
	if d.R != d.W {
		if e := d.R.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Tx is a write transaction. Now is fixed when it begins, so every row it
// writes shares one timestamp.
type Tx struct {
	*sql.Tx
	Now    time.Time
	Engine Engine
	db     *DB
	later  *laterQueue // PostgreSQL: the writes run Later, not sent yet
	after  []func()    // AfterCommit
}

// Later runs a write in the transaction whose outcome the caller does
// not read: no rows, no count of them. On PostgreSQL it is held back and
// sent with the transaction's next statement or its COMMIT, in the same
// round trip; if it fails, that statement or the commit fails with its
// error, and the transaction keeps nothing. On SQLite it runs at once.
func (tx *Tx) Later(ctx context.Context, q string, args ...any) error {
	if tx.later == nil {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	tx.later.stmts = append(tx.later.stmts, laterStmt{q, args})
	return nil
}

// Ahead sends a read with the transaction's next statement, right after
// it in the same round trip, on PostgreSQL, and keeps its rows: the
// transaction's first query of the same text and arguments (QueryContext
// or QueryRowContext) reads them instead of going to the server. The read
// sees what it would see run then, after the next statement. Use it for a
// read the caller will make once the next statement has answered, whose
// arguments do not depend on that answer. A read sent Ahead that the
// transaction never runs costs nothing more; the COMMIT does not carry
// reads. On SQLite it does nothing: the read runs when the caller runs it.
func (tx *Tx) Ahead(q string, args ...any) {
	if tx.later != nil {
		tx.later.ahead = append(tx.later.ahead, laterStmt{q, args})
	}
}

// Ahead returns ctx carrying a read for the store to send, on
// PostgreSQL, with the next read the store runs for that context outside
// a transaction, right after it in the same round trip, and its rows
// kept: the first query of the same text and arguments for the context
// (QueryRowContext, QueryContext) then reads them instead of going to the
// server. It is Tx.Ahead for the reads one call makes in turn outside a
// transaction, one of which need not wait for the other though they are
// made in different packages (a request's session, then the order it
// pays). The read sees what it would see run then; run later, it might
// see more. A context's reads are made one at a time, as a request's
// are. On SQLite it returns ctx: the read runs when the caller runs it.
func (d *DB) Ahead(ctx context.Context, q string, args ...any) context.Context {
	if d.Engine != Postgres {
		return ctx
	}
	a, _ := ctx.Value(aheadKey{}).(*aheads)
	if a == nil {
		a = &aheads{}
		ctx = context.WithValue(ctx, aheadKey{}, a)
	}
	for _, s := range a.stores {
		if s.d == d {
			s.q.ahead = append(s.q.ahead, laterStmt{q, args})
			return ctx
		}
	}
	a.stores = append(a.stores, storeAhead{d, &laterQueue{ahead: []laterStmt{{q, args}}}})
	return ctx
}

// aheads are a context's reads sent Ahead outside a transaction, by
// store.
type aheads struct{ stores []storeAhead }

type storeAhead struct {
	d *DB
	q *laterQueue
}

type aheadKey struct{}

// CommitNext has the transaction's next statement be its last: on
// PostgreSQL the COMMIT is sent right after it, in the same round trip,
// whatever the statement's rows say, and the commit's outcome is what
// Update returns. If the statement fails, the COMMIT is not run and the
// transaction rolls back as usual. The function must run no statement
// after it, and return nil unless that statement failed (an error would
// not undo the commit). On SQLite it does nothing: Update commits after
// the function, as always.
func (tx *Tx) CommitNext() {
	if tx.later != nil {
		tx.later.commitNext = true
	}
}

// Update runs fn in a write transaction and commits it if fn returns nil;
// if fn fails, none of its writes are kept. It retries the whole function
// when the engine reports a transient conflict (SQLite busy, PostgreSQL
// serialization failure or deadlock), so fn must not have effects outside
// the transaction. On SQLite, fn may share its commit with other callers'
// functions (group commit); it must not call Update on the same store.
func (d *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	return retry(ctx, d.retried, func() error {
		if d.writer != nil {
			return d.writer.run(ctx, fn)
		}
		return d.update(ctx, fn)
	})
}

// retry runs op again, with growing pauses, while the engine reports a
// transient conflict (SQLite busy, PostgreSQL serialization failure or
// deadlock), up to eight times, telling observe (if not nil) the reason
// of each rerun.
func retry(ctx context.Context, observe func(reason string), op func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if err = op(); err == nil || !transient(err) {
			return err
		}
		if attempt == 7 {
			break // no rerun follows
		}
		if observe != nil {
			observe(retryReason(err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1<<attempt) * 5 * time.Millisecond):
		}
	}
	return err
}

// Exec runs one write statement as its own transaction. On PostgreSQL it
// is sent alone, without BEGIN and COMMIT, which saves two round trips; on
// SQLite it joins the group commit. Use it for writes that are a single
// statement; anything more needs Update.
func (d *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if d.writer != nil {
		var res sql.Result
		err := d.Update(ctx, func(tx *Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, q, args...)
			return err
		})
		return res, err
	}
	var res sql.Result
	err := retry(ctx, d.retried, func() error {
		var err error
		res, err = d.W.ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

// WriteAll runs one write statement that returns rows (RETURNING) as its
// own transaction, as Exec does, and collects its rows with scan: on
// PostgreSQL it is sent alone, without BEGIN and COMMIT, one round trip;
// on SQLite it joins the group commit. It is run again, whole, on a
// transient conflict.
func WriteAll[T any](ctx context.Context, d *DB, scan func(Scanner) (T, error), q string, args ...any) ([]T, error) {
	var out []T
	if d.writer != nil {
		err := d.Update(ctx, func(tx *Tx) (err error) {
			out, err = All(ctx, tx, scan, q, args...)
			return err
		})
		return out, err
	}
	err := retry(ctx, d.retried, func() (err error) {
		out, err = All(ctx, d.W, scan, q, args...)
		return err
	})
	return out, err
}

func (d *DB) update(ctx context.Context, fn func(*Tx) error) (err error) {
	later := &laterQueue{}
	stx, err := d.W.BeginTx(context.WithValue(ctx, laterKey{}, later), nil)
	if err != nil {
		return err
	}
	tx := &Tx{Tx: stx, Now: d.Clock.Now(), Engine: d.Engine, db: d, later: later}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = d.commit(stx); err != nil {
		return err
	}
	tx.committed()
	return nil
}

// transient reports whether err is a conflict that the same work may not
// meet if it runs again: PostgreSQL's serialization failure (40001) or
// deadlock (40P01), or SQLite's BUSY or LOCKED, in their primary or
// extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE, …).
func transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// retryReason names the transient conflict err is, for ObserveRetries.
func retryReason(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if pe.Code == "40P01" {
			return RetryDeadlock
		}
		return RetrySerialization
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_LOCKED {
		return RetryLocked
	}
	return RetryBusy
}

// private makes a SQLite store readable by its owner only: it holds
// consumers' phone numbers and PIN hashes. The file is created 0600 before
// SQLite opens it, so SQLite creates its -wal and -shm files alike; a
// store an earlier release left group- or world-readable is tightened.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flag converts b to the 0 or 1 stored in INTEGER flag columns, which
// both engines read back into a bool.
func Flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Micros converts t to the integer microseconds stored in *_at columns.
// Zero time is stored as 0.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Time converts stored microseconds back to a time; 0 is the zero time.
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}
