package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// A write transaction on PostgreSQL begins with BEGIN, which
// database/sql sends alone and waits for: a round trip that carries
// nothing. lazyConn, the PostgreSQL driver connection, instead holds the
// BEGIN back and sends it with the transaction's first statement, in one
// pgx batch, so a transaction costs its statements and COMMIT. A
// transaction that runs no statement sends nothing at all. Likewise the
// writes a transaction runs Later wait for its next statement or its
// COMMIT. The reads a transaction runs Ahead go right after its next
// statement, in the same batch, and their rows are kept for when the
// transaction runs them; and a transaction told to CommitNext sends its
// COMMIT right after its next statement, in the same batch too.
// Transactions with options (isolation, read only) begin as before.

// lazyConnector makes lazyConns over pgx's stdlib connections to store d.
type lazyConnector struct {
	driver.Connector
	d *DB
}

func (c lazyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return dc, nil
	}
	return &lazyConn{Conn: sc, d: c.d}, nil
}

// lazyConn is a pgx stdlib connection whose BEGIN waits for the first
// statement, as do the statements a transaction runs Later: they are sent
// before the next statement, or before COMMIT, in its batch. database/sql
// uses a connection from one goroutine at a time.
type lazyConn struct {
	*stdlib.Conn
	d     *DB         // the store
	begin bool        // the transaction's BEGIN is not sent yet
	later *laterQueue // the transaction's statements held back, if it has a queue
}

// laterQueue holds a transaction's statements run Later until its next
// statement or its commit carries them, the reads run Ahead until its next
// statement carries them and their rows until the transaction reads them,
// and whether its next statement carries its COMMIT.
type laterQueue struct {
	stmts      []laterStmt
	ahead      []laterStmt // reads to send right after the next statement
	kept       []keptRows  // the rows of reads sent Ahead, not read yet
	commitNext bool        // COMMIT goes right after the next statement
	ended      bool        // the COMMIT sent with a statement was answered
	commitErr  error       // its error, which Commit returns
}

type laterStmt struct {
	q    string
	args []any
}

// keptRows are the rows a read sent Ahead returned, or its error, kept
// for the transaction's query of the same text and arguments.
type keptRows struct {
	laterStmt
	cols []string
	rows [][]driver.Value
	err  error
}

// take returns the kept rows of the read q with args, if it was sent
// Ahead and not read yet, and forgets them.
func (l *laterQueue) take(q string, args []any) (keptRows, bool) {
	for i, k := range l.kept {
		if k.q == q && reflect.DeepEqual(k.args, args) {
			l.kept = append(l.kept[:i], l.kept[i+1:]...)
			return k, true
		}
	}
	return keptRows{}, false
}

// errEnded is the error of a statement run after its transaction
// committed with the statement before it (CommitNext).
var errEnded = errors.New("db: statement after the transaction's last (CommitNext)")

type laterKey struct{}

func (c *lazyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if g := guardFor(ctx, c.d); g != nil {
		// A transaction's rollback would undo the guard's writes.
		if err := c.alone(ctx, g); err != nil {
			return nil, err
		}
	}
	if opts.Isolation != 0 || opts.ReadOnly {
		return c.Conn.BeginTx(ctx, opts)
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	c.begin = true
	c.later, _ = ctx.Value(laterKey{}).(*laterQueue)
	return &lazyTx{c: c, ctx: ctx}, nil
}

// holding reports whether anything waits to go with the next statement,
// or a read sent Ahead may answer it.
func (c *lazyConn) holding() bool {
	return c.begin || c.later != nil && (len(c.later.stmts) > 0 || len(c.later.ahead) > 0 || len(c.later.kept) > 0 || c.later.commitNext || c.later.ended)
}

func args(argsV []driver.NamedValue) []any {
	out := make([]any, len(argsV))
	for i, v := range argsV {
		out[i] = v.Value
	}
	return out
}

// guard takes the guard ctx holds for the store if one waits and the
// connection is in no transaction, which would undo the guard's writes
// if it rolled back.
func (c *lazyConn) guard(ctx context.Context) *Guard {
	if c.holding() || c.Conn.Conn().PgConn().TxStatus() != 'I' {
		return nil
	}
	return guardFor(ctx, c.d)
}

// send sends what waits (a guard, BEGIN, statements run Later) and q in
// one batch, followed, with tail, by tail's reads run Ahead and its COMMIT
// if it goes next, and returns the batch's results, read up to q's; the
// caller reads q's, then the tail's (finish), and closes the batch. A
// guard or a statement run Later that failed fails q.
func (c *lazyConn) send(ctx context.Context, g *Guard, q string, qargs []any, tail *laterQueue) (pgx.BatchResults, *batchTail, error) {
	b := &pgx.Batch{}
	if g != nil {
		b.Queue(g.q, g.args...)
	}
	began := c.begin
	if began {
		b.Queue("begin")
	}
	var t *batchTail
	if c.later != nil {
		for _, s := range c.later.stmts {
			b.Queue(s.q, s.args...)
		}
		c.later.stmts = c.later.stmts[:0]
	}
	before := b.Len()
	c.begin = false
	b.Queue(q, qargs...)
	if l := tail; l != nil && (len(l.ahead) > 0 || l.commitNext) {
		t = &batchTail{q: l, ahead: l.ahead, commit: l.commitNext}
		for _, s := range l.ahead {
			b.Queue(s.q, s.args...)
		}
		if l.commitNext {
			b.Queue("commit")
		}
		l.ahead, l.commitNext = nil, false
	}
	br := c.Conn.Conn().SendBatch(ctx, b)
	if g != nil {
		if err := g.read(br); err != nil {
			br.Close()
			return nil, nil, err
		}
		before--
	}
	for i := range before {
		if _, err := br.Exec(); err != nil {
			br.Close()
			if i == 0 && began && pgconn.SafeToRetry(err) {
				return nil, nil, driver.ErrBadConn
			}
			return nil, nil, err
		}
	}
	return br, t, nil
}

// batchTail is what a batch carries after its statement: reads run
// Ahead, and the COMMIT if it went with the statement.
type batchTail struct {
	q      *laterQueue // whose reads they are
	ahead  []laterStmt
	commit bool
}

// finish reads the results of what the batch carried after its
// statement, which failed with qerr or not: it keeps the rows of the reads
// run Ahead, and records the COMMIT's answer for the transaction's Commit.
// A COMMIT the server skipped (a statement before it failed) leaves the
// transaction open, failed, for Commit or Rollback to end as usual.
func (c *lazyConn) finish(br pgx.BatchResults, t *batchTail, qerr error) {
	if t == nil {
		return
	}
	failed := qerr != nil
	for _, s := range t.ahead {
		k := keptRows{laterStmt: s}
		rows, err := br.Query()
		if err == nil {
			for _, fd := range rows.FieldDescriptions() {
				k.cols = append(k.cols, fd.Name)
			}
			for err == nil && rows.Next() {
				var vals []any
				if vals, err = rows.Values(); err != nil {
					break
				}
				row := make([]driver.Value, len(vals))
				for i, v := range vals {
					if row[i], err = driverValue(v); err != nil {
						err = fmt.Errorf("db: column %d: %w", i, err)
						break
					}
				}
				k.rows = append(k.rows, row)
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
		k.err = err
		failed = failed || err != nil
		t.q.kept = append(t.q.kept, k)
	}
	if t.commit {
		tag, err := br.Exec()
		if err == nil && tag.String() == "ROLLBACK" {
			err = pgx.ErrTxCommitRollback
		}
		if !failed { // the server ran the COMMIT: the transaction ended
			t.q.ended, t.q.commitErr = true, err
		}
	}
}

func (c *lazyConn) ExecContext(ctx context.Context, q string, argsV []driver.NamedValue) (driver.Result, error) {
	g := c.guard(ctx)
	multi := len(argsV) == 0 && strings.Contains(q, ";")
	if g != nil && multi {
		if err := c.alone(ctx, g); err != nil {
			return nil, err
		}
		g = nil
	}
	if g == nil && !c.holding() {
		return c.Conn.ExecContext(ctx, q, argsV)
	}
	if c.later != nil && c.later.ended {
		return nil, errEnded
	}
	if multi {
		// Several statements in one text (a migration) go by the simple
		// protocol, which a batch cannot carry: what waits goes first.
		br, _, err := c.send(ctx, nil, "SELECT 1", nil, nil)
		if err != nil {
			return nil, err
		}
		_, err = br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		return c.Conn.ExecContext(ctx, q, argsV)
	}
	br, tail, err := c.send(ctx, g, q, args(argsV), c.later)
	if err != nil {
		return nil, err
	}
	tag, err := br.Exec()
	c.finish(br, tail, err)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if g != nil {
		g.finish(err)
	}
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *lazyConn) QueryContext(ctx context.Context, q string, argsV []driver.NamedValue) (driver.Rows, error) {
	g := c.guard(ctx)
	if g == nil && !c.holding() {
		if l := c.readsAhead(ctx); l != nil {
			return c.query(ctx, nil, l, q, argsV)
		}
		return c.Conn.QueryContext(ctx, q, argsV)
	}
	return c.query(ctx, g, c.later, q, argsV)
}

// readsAhead is the queue of reads sent Ahead (DB.Ahead) for ctx on the
// connection's store, if there is one and the connection is outside a
// transaction.
func (c *lazyConn) readsAhead(ctx context.Context) *laterQueue {
	a, _ := ctx.Value(aheadKey{}).(*aheads)
	if a == nil || c.later != nil || c.Conn.Conn().PgConn().TxStatus() != 'I' {
		return nil
	}
	for _, s := range a.stores {
		if s.d == c.d {
			return s.q
		}
	}
	return nil
}

// query runs q, reading the rows kept for it in l if l has them (a read
// sent Ahead), else sending it with what waits (the guard g, if any), and
// the reads l sends Ahead after it.
func (c *lazyConn) query(ctx context.Context, g *Guard, l *laterQueue, q string, argsV []driver.NamedValue) (driver.Rows, error) {
	if l != nil {
		if l.ended {
			return nil, errEnded
		}
		if k, ok := l.take(q, args(argsV)); ok {
			if k.err != nil {
				return nil, k.err
			}
			return &keptRowsReader{k: k}, nil
		}
	}
	if g == nil && !c.holding() && (l == nil || len(l.ahead) == 0) {
		return c.Conn.QueryContext(ctx, q, argsV)
	}
	br, tail, err := c.send(ctx, g, q, args(argsV), l)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		c.finish(br, tail, err)
		br.Close()
		if g != nil {
			g.finish(err)
		}
		return nil, err
	}
	// Read the first row now, as pgx's stdlib does, so that a failed
	// statement fails here and the columns are known.
	r := &batchRows{c: c, br: br, rows: rows, tail: tail, guard: g}
	r.more = rows.Next()
	if err := rows.Err(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// keptRowsReader reads the kept rows of a read sent Ahead.
type keptRowsReader struct {
	k keptRows
	i int
}

func (r *keptRowsReader) Columns() []string { return r.k.cols }
func (r *keptRowsReader) Close() error      { return nil }

func (r *keptRowsReader) Next(dest []driver.Value) error {
	if r.i >= len(r.k.rows) {
		return io.EOF
	}
	copy(dest, r.k.rows[r.i])
	r.i++
	return nil
}

// lazyTx is a transaction whose BEGIN may not have been sent.
type lazyTx struct {
	c   *lazyConn
	ctx context.Context
}

func (t *lazyTx) Commit() error {
	c := t.c
	defer func() { c.later = nil }()
	if c.later != nil && c.later.ended {
		return c.later.commitErr // its last statement carried the COMMIT
	}
	if c.begin && (c.later == nil || len(c.later.stmts) == 0) {
		c.begin = false // nothing was sent: nothing to commit
		return nil
	}
	var tag pgconn.CommandTag
	var err error
	if c.holding() {
		var br pgx.BatchResults
		if br, _, err = c.send(t.ctx, nil, "commit", nil, nil); err == nil {
			tag, err = br.Exec()
			if cerr := br.Close(); err == nil {
				err = cerr
			}
		}
	} else {
		tag, err = c.Conn.Conn().Exec(t.ctx, "commit")
	}
	if err == nil && tag.String() == "ROLLBACK" {
		// A statement failed and the caller went on: PostgreSQL answers
		// COMMIT of a failed transaction by rolling it back.
		err = pgx.ErrTxCommitRollback
	}
	if err != nil && c.Conn.Conn().PgConn().TxStatus() != 'I' {
		// A statement run Later failed before COMMIT, which was not run.
		_, _ = c.Conn.Conn().Exec(t.ctx, "rollback")
	}
	return err
}

func (t *lazyTx) Rollback() error {
	c := t.c
	ended := c.later != nil && c.later.ended
	c.later = nil
	if ended {
		return nil // the COMMIT carried by its last statement ended it
	}
	if c.begin {
		c.begin = false
		return nil
	}
	_, err := c.Conn.Conn().Exec(t.ctx, "rollback")
	return err
}

// batchRows are the rows of a statement sent with BEGIN, as
// database/sql reads them: each value as one of driver.Value's types.
type batchRows struct {
	c       *lazyConn
	br      pgx.BatchResults
	rows    pgx.Rows
	tail    *batchTail
	more    bool   // the first row is read and not yet returned
	guard   *Guard // sent with the statement, settled by its outcome on Close
	started bool
	closed  bool
}

func (r *batchRows) Columns() []string {
	fds := r.rows.FieldDescriptions()
	out := make([]string, len(fds))
	for i, fd := range fds {
		out[i] = fd.Name
	}
	return out
}

func (r *batchRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.rows.Close()
	err := r.rows.Err()
	if r.c != nil {
		r.c.finish(r.br, r.tail, err)
	}
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	if r.guard != nil {
		r.guard.finish(err)
	}
	return err
}

func (r *batchRows) Next(dest []driver.Value) error {
	more := r.more
	if r.started {
		more = r.rows.Next()
	}
	r.started = true
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	vals, err := r.rows.Values()
	if err != nil {
		return err
	}
	for i, v := range vals {
		if dest[i], err = driverValue(v); err != nil {
			return fmt.Errorf("db: column %d: %w", i, err)
		}
	}
	return nil
}

// driverValue converts a value pgx decoded to one database/sql takes.
func driverValue(v any) (driver.Value, error) {
	switch x := v.(type) {
	case nil, int64, float64, bool, string, time.Time:
		return x, nil
	case []byte:
		return append([]byte(nil), x...), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case driver.Valuer:
		return x.Value()
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}
