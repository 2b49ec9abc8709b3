package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestTransactionBeginsWithItsFirstStatement: on PostgreSQL a write
// transaction sends BEGIN with its first statement, in one round trip,
// and is otherwise the transaction it was: its first statement's rows
// and errors, its rollback, and a commit that fails when a statement did.
func TestTransactionBeginsWithItsFirstStatement(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			if _, err := d.Exec(ctx, `CREATE TABLE lazy_test (k TEXT PRIMARY KEY, v BIGINT NOT NULL, b BYTEA, f INTEGER)`); err != nil {
				t.Fatal(err)
			}
			count := func() (n int) {
				t.Helper()
				if err := d.QueryRowContext(ctx, `SELECT count(*) FROM lazy_test`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			// A first statement that reads: every type the stores use.
			for i := range 3 {
				tctx, tally := db.WithTally(ctx, false)
				var k string
				var v, sum int64
				var b []byte
				var f bool
				var null *string
				err := d.Update(tctx, func(tx *db.Tx) error {
					if err := tx.QueryRowContext(tctx, `INSERT INTO lazy_test (k, v, b, f) VALUES ($1, $2, $3, $4) RETURNING k, v, b, f, NULL`,
						"k"+string(rune('a'+i)), int64(1)<<40, []byte{0, 1, 2}, 1).Scan(&k, &v, &b, &f, &null); err != nil {
						return err
					}
					return tx.QueryRowContext(tctx, `SELECT COALESCE(SUM(v), 0) FROM lazy_test`).Scan(&sum)
				})
				if err != nil {
					t.Fatal(err)
				}
				if v != 1<<40 || len(b) != 3 || b[2] != 2 || !f || null != nil || sum != int64(i+1)<<40 {
					t.Fatalf("read back %q %d %v %v %v, sum %d", k, v, b, f, null, sum)
				}
				if engine == db.Postgres && i > 0 && tally.Total() != 3 {
					t.Errorf("transaction %d: %d round trips, want 3", i, tally.Total())
				}
			}
			// A first statement that fails fails the transaction, which
			// keeps nothing, and the connection serves on.
			err := d.Update(ctx, func(tx *db.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO lazy_test (k, v) VALUES ('ka', 1)`)
				return err
			})
			if err == nil {
				t.Fatal("a duplicate key as the first statement did not fail")
			}
			// A failure the function ignores fails the commit.
			err = d.Update(ctx, func(tx *db.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_test (k, v) VALUES ('kz', 1)`); err != nil {
					return err
				}
				_, _ = tx.ExecContext(ctx, `INSERT INTO lazy_test (k, v) VALUES ('ka', 1)`)
				return nil
			})
			if err == nil && engine == db.Postgres {
				t.Fatal("the commit of a transaction whose statement failed succeeded")
			}
			// A function's error rolls back what its statements did.
			boom := errors.New("boom")
			if err := d.Update(ctx, func(tx *db.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_test (k, v) VALUES ('ky', 1)`); err != nil {
					return err
				}
				return boom
			}); !errors.Is(err, boom) {
				t.Fatalf("Update = %v, want boom", err)
			}
			// Several statements in one text, as a migration runs them,
			// first in the transaction or after a write run Later.
			for _, later := range []bool{false, true} {
				if err := d.Update(ctx, func(tx *db.Tx) error {
					if later {
						if err := tx.Later(ctx, `INSERT INTO lazy_test (k, v) VALUES ('kl', 1)`); err != nil {
							return err
						}
					}
					_, err := tx.ExecContext(ctx, `CREATE TABLE lazy_many (k TEXT); INSERT INTO lazy_many VALUES ('x'); DROP TABLE lazy_many`)
					return err
				}); err != nil {
					t.Fatalf("several statements in one text (after a write Later: %v): %v", later, err)
				}
			}
			if _, err := d.Exec(ctx, `DELETE FROM lazy_test WHERE k = 'kl'`); err != nil {
				t.Fatal(err)
			}
			// A transaction that runs nothing commits.
			if err := d.Update(ctx, func(*db.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
			want := 3
			if engine == db.SQLite {
				want = 4 // SQLite's savepoint keeps kz: the ignored failure was its statement's alone
			}
			if n := count(); n != want {
				t.Fatalf("%d rows, want %d", n, want)
			}
		})
	}
}

// TestLater: a write run Later goes with the transaction's next
// statement or its COMMIT, in its round trip, and fails the transaction
// if it fails.
func TestLater(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			if _, err := d.Exec(ctx, `CREATE TABLE later_test (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			run := func(fn func(ctx context.Context, tx *db.Tx) error) (int64, error) {
				tctx, tally := db.WithTally(ctx, false)
				err := d.Update(tctx, func(tx *db.Tx) error { return fn(tctx, tx) })
				return tally.Total(), err
			}
			for i := range 3 {
				k := string(rune('a' + i))
				// Written Later, read by the next statement: BEGIN, the
				// write and the read in one round trip, COMMIT in another.
				trips, err := run(func(ctx context.Context, tx *db.Tx) error {
					if err := tx.Later(ctx, `INSERT INTO later_test (k, v) VALUES ($1, $2)`, k, int64(i)); err != nil {
						return err
					}
					var v int64
					if err := tx.QueryRowContext(ctx, `SELECT v FROM later_test WHERE k = $1`, k).Scan(&v); err != nil {
						return err
					}
					if v != int64(i) {
						t.Errorf("read %d, want %d", v, i)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if engine == db.Postgres && i > 0 && trips != 2 {
					t.Errorf("write Later, then read: %d round trips, want 2", trips)
				}
				// Written Later and nothing after: the whole transaction
				// in one round trip.
				trips, err = run(func(ctx context.Context, tx *db.Tx) error {
					return tx.Later(ctx, `UPDATE later_test SET v = v + 10 WHERE k = $1`, k)
				})
				if err != nil {
					t.Fatal(err)
				}
				if engine == db.Postgres && i > 0 && trips != 1 {
					t.Errorf("write Later, commit: %d round trips, want 1", trips)
				}
			}
			// A write Later that fails fails the statement after it, or
			// the commit, and nothing of the transaction is kept.
			for _, next := range []bool{true, false} {
				_, err := run(func(ctx context.Context, tx *db.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO later_test (k, v) VALUES ('x', 1)`); err != nil {
						return err
					}
					if err := tx.Later(ctx, `INSERT INTO later_test (k, v) VALUES ('a', 1)`); err != nil {
						return err
					}
					if next {
						_, err := tx.ExecContext(ctx, `INSERT INTO later_test (k, v) VALUES ('y', 1)`)
						return err
					}
					return nil
				})
				if err == nil {
					t.Fatalf("a duplicate key written Later (next statement %v) did not fail", next)
				}
			}
			var n, sum int64
			if err := d.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(v), 0) FROM later_test`).Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			if n != 3 || sum != 33 {
				t.Fatalf("%d rows summing to %d, want 3 summing to 33", n, sum)
			}
		})
	}
}
