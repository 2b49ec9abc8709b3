package db_test

import (
	"context"
	"database/sql"
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

// TestAhead: a read run Ahead goes right after the transaction's next
// statement, in its round trip, sees what that statement did, and
// answers the transaction's same query without another round trip; a
// query of other arguments still goes to the server.
func TestAhead(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			if _, err := d.Exec(ctx, `CREATE TABLE ahead_test (k TEXT PRIMARY KEY, v BIGINT NOT NULL, b BYTEA)`); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				tctx, tally := db.WithTally(ctx, false)
				var mid int64
				err := d.Update(tctx, func(tx *db.Tx) error {
					tx.Ahead(`SELECT count(*), COALESCE(SUM(v), 0) FROM ahead_test WHERE k <> $1`, "none")
					tx.Ahead(`SELECT k, v, b FROM ahead_test WHERE v >= $1 ORDER BY k`, int64(0))
					if _, err := tx.ExecContext(tctx, `INSERT INTO ahead_test (k, v, b) VALUES ($1, $2, $3)`,
						string(rune('a'+i)), int64(i+1), []byte{byte(i)}); err != nil {
						return err
					}
					mid = tally.Total()
					var n, sum int64
					if err := tx.QueryRowContext(tctx, `SELECT count(*), COALESCE(SUM(v), 0) FROM ahead_test WHERE k <> $1`, "none").Scan(&n, &sum); err != nil {
						return err
					}
					if n != int64(i+1) || sum != int64((i+1)*(i+2)/2) {
						t.Errorf("read ahead %d rows summing to %d, want what the insert before it left", n, sum)
					}
					rows, err := tx.QueryContext(tctx, `SELECT k, v, b FROM ahead_test WHERE v >= $1 ORDER BY k`, int64(0))
					if err != nil {
						return err
					}
					var got []string
					for rows.Next() {
						var k string
						var v int64
						var b []byte
						if err := rows.Scan(&k, &v, &b); err != nil {
							return err
						}
						if len(b) != 1 || v != int64(b[0])+1 {
							t.Errorf("row %s: %d %v", k, v, b)
						}
						got = append(got, k)
					}
					if err := rows.Close(); err != nil {
						return err
					}
					if len(got) != i+1 {
						t.Errorf("read ahead rows %v", got)
					}
					// The same text with other arguments is another read.
					return tx.QueryRowContext(tctx, `SELECT count(*), COALESCE(SUM(v), 0) FROM ahead_test WHERE k <> $1`, "a").Scan(&n, &sum)
				})
				if err != nil {
					t.Fatal(err)
				}
				// BEGIN, the insert and both reads; the read of other
				// arguments; COMMIT.
				if engine == db.Postgres && i > 0 && (mid != 1 || tally.Total() != 3) {
					t.Errorf("%d round trips (%d after the insert), want 3 (1)", tally.Total(), mid)
				}
			}
			// A read Ahead that fails fails its query, and the commit.
			err := d.Update(ctx, func(tx *db.Tx) error {
				tx.Ahead(`SELECT v / (v - v) FROM ahead_test`)
				if _, err := tx.ExecContext(ctx, `INSERT INTO ahead_test (k, v) VALUES ('x', 1)`); err != nil {
					return err
				}
				var v int64
				_ = tx.QueryRowContext(ctx, `SELECT v / (v - v) FROM ahead_test`).Scan(&v)
				return nil
			})
			if err == nil && engine == db.Postgres {
				t.Fatal("a transaction whose read Ahead failed committed")
			}
			var n int64
			if err := d.QueryRowContext(ctx, `SELECT count(*) FROM ahead_test`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := int64(3); engine == db.Postgres && n != want {
				t.Fatalf("%d rows, want %d", n, want)
			}
		})
	}
}

// TestCommitNext: a transaction told to CommitNext commits with its next
// statement, in its round trip, whatever the statement's rows; a
// statement that fails rolls it back, and a statement after it fails.
func TestCommitNext(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			if _, err := d.Exec(ctx, `CREATE TABLE commitnext_test (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO commitnext_test (k, v) VALUES ('a', 1)`); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				tctx, tally := db.WithTally(ctx, false)
				var v int64
				err := d.Update(tctx, func(tx *db.Tx) error {
					if err := tx.Later(tctx, `INSERT INTO commitnext_test (k, v) VALUES ($1, 1)`, string(rune('b'+i))); err != nil {
						return err
					}
					tx.CommitNext()
					return tx.QueryRowContext(tctx, `UPDATE commitnext_test SET v = v + 1 WHERE k = 'a' RETURNING v`).Scan(&v)
				})
				if err != nil {
					t.Fatal(err)
				}
				if v != int64(i+2) {
					t.Errorf("read %d, want %d", v, i+2)
				}
				if engine == db.Postgres && i > 0 && tally.Total() != 1 {
					t.Errorf("%d round trips, want 1: BEGIN, the insert, the update and COMMIT in one", tally.Total())
				}
			}
			// The commit stands when the statement returns no row.
			err := d.Update(ctx, func(tx *db.Tx) error {
				if err := tx.Later(ctx, `INSERT INTO commitnext_test (k, v) VALUES ('z', 1)`); err != nil {
					return err
				}
				tx.CommitNext()
				var v int64
				if err := tx.QueryRowContext(ctx, `UPDATE commitnext_test SET v = 0 WHERE k = 'none' RETURNING v`).Scan(&v); err != sql.ErrNoRows {
					t.Errorf("scan = %v, want no rows", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// A statement that fails rolls back the transaction.
			err = d.Update(ctx, func(tx *db.Tx) error {
				if err := tx.Later(ctx, `INSERT INTO commitnext_test (k, v) VALUES ('y', 1)`); err != nil {
					return err
				}
				tx.CommitNext()
				_, err := tx.ExecContext(ctx, `INSERT INTO commitnext_test (k, v) VALUES ('a', 1)`)
				return err
			})
			if err == nil {
				t.Fatal("a duplicate key did not fail")
			}
			// A statement after the last fails on PostgreSQL.
			if engine == db.Postgres {
				err = d.Update(ctx, func(tx *db.Tx) error {
					tx.CommitNext()
					if _, err := tx.ExecContext(ctx, `INSERT INTO commitnext_test (k, v) VALUES ('w', 1)`); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO commitnext_test (k, v) VALUES ('v', 1)`)
					return err
				})
				if err == nil {
					t.Fatal("a statement after the last ran")
				}
			}
			var n, sum int64
			if err := d.QueryRowContext(ctx, `SELECT count(*), SUM(v) FROM commitnext_test`).Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			wantN, wantSum := int64(5), int64(8) // a=4, b, c, d, z
			if engine == db.Postgres {
				wantN, wantSum = 6, 9 // and w, committed before the statement after it failed
			}
			if n != wantN || sum != wantSum {
				t.Fatalf("%d rows summing to %d, want %d summing to %d", n, sum, wantN, wantSum)
			}
		})
	}
}

// TestAheadOutsideTransactions: a read a context carries Ahead goes with
// the store's next read for that context, in its round trip, and answers
// the same query after it; a transaction's statements neither carry it
// nor read it.
func TestAheadOutsideTransactions(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			if _, err := d.Exec(ctx, `CREATE TABLE ahead_pool (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO ahead_pool (k, v) VALUES ('a', 1), ('b', 2)`); err != nil {
				t.Fatal(err)
			}
			read := func(ctx context.Context, k string) (v int64) {
				t.Helper()
				err := d.QueryRowContext(ctx, `SELECT v FROM ahead_pool WHERE k = $1`, k).Scan(&v)
				if err != nil && err != sql.ErrNoRows {
					t.Fatal(err)
				}
				return v
			}
			for i := range 3 {
				tctx, tally := db.WithTally(ctx, false)
				tctx = d.Ahead(tctx, `SELECT v FROM ahead_pool WHERE k = $1`, "b")
				tctx = d.Ahead(tctx, `SELECT v FROM ahead_pool WHERE k = $1`, "none")
				// A transaction neither sends nor reads them.
				if err := d.Update(tctx, func(tx *db.Tx) error {
					_, err := tx.ExecContext(tctx, `UPDATE ahead_pool SET v = v + 10 WHERE k = 'b'`)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				mid := tally.Total()
				a, b, none := read(tctx, "a"), read(tctx, "b"), read(tctx, "none")
				if a != 1 || b != int64(12+10*i) || none != 0 {
					t.Errorf("read %d %d %d, want 1 %d 0", a, b, none, 12+10*i)
				}
				// BEGIN and the update, COMMIT; the read of a with both.
				if engine == db.Postgres && i > 0 && (mid != 2 || tally.Total() != 3) {
					t.Errorf("%d round trips (%d for the transaction), want 3 (2)", tally.Total(), mid)
				}
				// Read, the rows are the query's no more: b is read again.
				before := tally.Total()
				if read(tctx, "b") != int64(12+10*i) || engine == db.Postgres && tally.Total() != before+1 {
					t.Errorf("read again: %d round trips", tally.Total()-before)
				}
			}
		})
	}
}
