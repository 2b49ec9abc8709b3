package db

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxCachedStatements bounds the prepared-statement cache.
const maxCachedStatements = 512

// stmtCache keeps prepared statements by SQL text. SQLite spends much of a
// short statement's time parsing it, and database/sql prepares afresh on
// every call; reusing prepared statements removes that. PostgreSQL does not
// need it: pgx caches prepared statements per connection itself.
//
// The writer pool has a single connection, which a transaction holds, so a
// statement cannot be prepared on it from inside one: a miss is noted and
// prepared by flush once the transaction has let the connection go.
type stmtCache struct {
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool
}

// get returns the cached statement for q. On a miss it prepares q at once
// if now is set, and otherwise notes it for flush. It never holds the lock
// while waiting for a connection.
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, q string, now bool) *sql.Stmt {
	c.mu.RLock()
	st, full := c.m[q], len(c.m) >= maxCachedStatements
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	if !now {
		c.mu.Lock()
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[q] = true
		c.mu.Unlock()
		return nil
	}
	return c.prepare(ctx, pool, q)
}

// prepare prepares q on pool, outside the lock, and caches it.
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB, q string) *sql.Stmt {
	st, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[q]; prev != nil {
		st.Close()
		return prev
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

// flush prepares the statements noted by misses.
func (c *stmtCache) flush(ctx context.Context, pool *sql.DB) {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for q := range pending {
		c.mu.RLock()
		have, full := c.m[q] != nil, len(c.m) >= maxCachedStatements
		c.mu.RUnlock()
		if !have && !full {
			c.prepare(ctx, pool, q)
		}
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
	c.mu.Unlock()
}

// ExecContext executes q in the transaction, with a cached prepared
// statement where the engine benefits.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, q); st != nil {
		return tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction and returns its first row.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, q, args...)
}

// QueryContext runs q in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, q); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, q, args...)
}

func (tx *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if tx.db == nil || tx.db.Engine != SQLite {
		return nil
	}
	return tx.db.wstmts.get(ctx, tx.db.W, q, false)
}

// QueryRowContext runs a read on the reader pool and returns its first row.
func (d *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if d.Engine == SQLite {
		if st := d.rstmts.get(ctx, d.R, q, true); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return d.R.QueryRowContext(ctx, q, args...)
}

// QueryContext runs a read on the reader pool.
func (d *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if d.Engine == SQLite {
		if st := d.rstmts.get(ctx, d.R, q, true); st != nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return d.R.QueryContext(ctx, q, args...)
}

// Strings runs a read that returns one text column and collects it, for
// the lists of identifiers that callers then look up one by one.
func (d *DB) Strings(ctx context.Context, q string, args ...any) ([]string, error) {
	return All(ctx, d, func(r Scanner) (s string, err error) {
		err = r.Scan(&s)
		return s, err
	}, q, args...)
}

// ByteOrder is an ORDER BY term that sorts a text column by its bytes, as
// Go compares strings, on either engine: SQLite does by default,
// PostgreSQL only under the C collation. Merge joins across two stores
// need it.
func (d *DB) ByteOrder(col string) string {
	if d.Engine == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// Padded returns values lengthened to a power of two by repeating the
// last, for an IN list (In) of a read that runs with lists of any size:
// its statements are then a few, each prepared once, not one for every
// length (on SQLite, compiled again at each new length).
func Padded(values []string) []string {
	if len(values) == 0 {
		return values
	}
	n := 1
	for n < len(values) {
		n *= 2
	}
	out := make([]string, n)
	for i := range out {
		out[i] = values[min(i, len(values)-1)]
	}
	return out
}

// In returns the placeholders of values for an IN (…) list, numbered from
// $first+1, and the values as arguments: `id IN (`+ph+`)`.
func In(values []string, first int) (string, []any) {
	ph := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		ph[i] = "$" + strconv.Itoa(first+i+1)
		args[i] = v
	}
	return strings.Join(ph, ", "), args
}

// Aged is a row retention may purge: its key, its merchant and when it
// was written.
type Aged struct {
	Key   string
	MchID string
	At    time.Time
}

// QueryAged runs a read of (key, mchid, at micros) rows.
func (d *DB) QueryAged(ctx context.Context, q string, args ...any) ([]Aged, error) {
	return All(ctx, d, func(r Scanner) (a Aged, err error) {
		var at int64
		err = r.Scan(&a.Key, &a.MchID, &at)
		a.At = Time(at)
		return a, err
	}, q, args...)
}

// Delete deletes the rows of table whose column is one of values, in tx,
// and returns how many it deleted. The owner of table calls it.
func Delete(ctx context.Context, tx *Tx, table, column string, values []string) (int, error) {
	if len(values) == 0 {
		return 0, nil
	}
	ph, args := In(values, 0)
	res, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+column+" IN ("+ph+")", args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
