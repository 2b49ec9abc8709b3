package db

import (
	"context"
	"net"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Round trips. On PostgreSQL every statement waits for the server's
// answer, so what a payment costs in latency and in the server's time is
// counted best in round trips: the times the client writes to the
// connection after having read from it (or writes first). Each
// connection a PostgreSQL store dials counts them, on the wire, whatever
// sent them: statements, BEGIN and COMMIT, prepares, pings, batches.
// SQLite has no round trips and counts none.

// RoundTrips is how many round trips the store has made since it was
// opened: every one, whoever asked (requests, background work, the
// connections' own handshakes).
func (d *DB) RoundTrips() int64 { return d.trips.Load() }

// Tally counts the round trips made on a context's behalf, by store, and
// if asked the statements sent. Attach one to a context with WithTally;
// every statement run with that context (or one derived from it) counts
// its round trips into it.
type Tally struct {
	mu     sync.Mutex
	n      map[string]int64
	record bool
	stmts  []Statement
}

// Statement is a statement a Tally recorded: its store and SQL.
type Statement struct {
	Store string
	SQL   string
}

type tallyKey struct{}

// WithTally returns ctx with a new Tally attached. With record set, the
// Tally also keeps the text of every statement sent (to find what a call
// could do without; it grows with the work, so not for serving).
func WithTally(ctx context.Context, record bool) (context.Context, *Tally) {
	t := &Tally{n: map[string]int64{}, record: record}
	return context.WithValue(ctx, tallyKey{}, t), t
}

func tallyOf(ctx context.Context) *Tally {
	t, _ := ctx.Value(tallyKey{}).(*Tally)
	return t
}

// Counts returns the round trips counted so far, by store.
func (t *Tally) Counts() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.n))
	for k, v := range t.n {
		out[k] = v
	}
	return out
}

// Total is the round trips counted so far over every store.
func (t *Tally) Total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, v := range t.n {
		n += v
	}
	return n
}

// Statements returns the statements recorded, in the order sent.
func (t *Tally) Statements() []Statement {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Statement(nil), t.stmts...)
}

// Stores returns the names of the stores counted, sorted.
func (t *Tally) Stores() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.n))
	for k := range t.n {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (t *Tally) add(store string) {
	t.mu.Lock()
	t.n[store]++
	t.mu.Unlock()
}

func (t *Tally) note(store, sql string) {
	if !t.record {
		return
	}
	t.mu.Lock()
	t.stmts = append(t.stmts, Statement{store, sql})
	t.mu.Unlock()
}

// countingConn is a PostgreSQL connection that counts its round trips
// into its store and into the Tally of whichever statement is using it.
type countingConn struct {
	net.Conn
	d     *DB
	tally atomic.Pointer[Tally]
	read  atomic.Bool // read since the last write, or nothing written yet
}

func (c *countingConn) Write(b []byte) (int, error) {
	if c.read.Swap(false) {
		c.d.trips.Add(1)
		if t := c.tally.Load(); t != nil {
			t.add(c.d.Name)
		}
	}
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.read.Store(true)
	}
	return n, err
}

// dial opens a counting connection for the store.
func (d *DB) dial(next func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &countingConn{Conn: nc, d: d}
		c.read.Store(true)
		return c, nil
	}
}

// counting finds the counting connection under a pgx connection, through
// TLS if any.
func counting(conn *pgx.Conn) *countingConn {
	if conn == nil || conn.PgConn() == nil {
		return nil
	}
	nc := conn.PgConn().Conn()
	for nc != nil {
		if c, ok := nc.(*countingConn); ok {
			return c
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
	}
	return nil
}

// tracer hands each statement's Tally to its connection while it runs.
type tracer struct{ d *DB }

func (tr tracer) start(ctx context.Context, conn *pgx.Conn, sql string) {
	c := counting(conn)
	if c == nil {
		return
	}
	t := tallyOf(ctx)
	c.tally.Store(t)
	if t != nil {
		t.note(tr.d.Name, sql)
	}
}

func (tr tracer) end(conn *pgx.Conn) {
	if c := counting(conn); c != nil {
		c.tally.Store(nil)
	}
}

func (tr tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	tr.start(ctx, conn, data.SQL)
	return ctx
}

func (tr tracer) TraceQueryEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceQueryEndData) {
	tr.end(conn)
}

func (tr tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	if c := counting(conn); c != nil {
		c.tally.Store(tallyOf(ctx)) // TraceBatchQuery notes each statement
	}
	return ctx
}

func (tr tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if t := tallyOf(ctx); t != nil {
		t.note(tr.d.Name, data.SQL)
	}
}

func (tr tracer) TraceBatchEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	tr.end(conn)
}

// A prepare runs inside the query that needs it (pgx prepares a
// statement on its first use on a connection), so it counts into the
// query's Tally and leaves it in place for the query's own round trip.
func (tr tracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	if c := counting(conn); c != nil {
		c.tally.Store(tallyOf(ctx))
	}
	return ctx
}

func (tr tracer) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}
