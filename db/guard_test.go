package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestGuard: on PostgreSQL a guard rides with the next statement of its
// context, in its round trip, and a guard that fails undoes that
// statement, and a statement that fails undoes the guard, which then
// does not hold; a transaction sends it alone first, so the transaction's
// rollback keeps the guard's writes; work that reaches no statement
// sends it with Hold. On either engine nothing runs under a guard that
// failed.
func TestGuard(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			for _, q := range []string{`CREATE TABLE guard_nonces (n TEXT PRIMARY KEY)`, `CREATE TABLE guard_work (k TEXT PRIMARY KEY)`} {
				if _, err := d.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			has := func(table, col, v string) bool {
				t.Helper()
				var n int
				if err := d.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+col+` = $1`, v).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n == 1
			}
			nonced := func(n string) bool { return has("guard_nonces", "n", n) }
			done := func(k string) bool { return has("guard_work", "k", k) }
			// guarded runs work under a guard that records nonce, which
			// fails if the nonce was recorded before, and returns the
			// whether the guard held, the round trips and the work's error.
			guarded := func(nonce string, work func(ctx context.Context) error) (bool, int64, error) {
				t.Helper()
				tctx, tally := db.WithTally(ctx, false)
				gctx, g := d.Guard(tctx, `INSERT INTO guard_nonces (n) VALUES ($1)`, nonce)
				werr := work(gctx)
				held, err := g.Hold(tctx)
				if err != nil {
					t.Fatal(err)
				}
				again, err := g.Hold(gctx)
				if err != nil || again != held {
					t.Fatalf("Hold again: %v, %v; first %v", again, err, held)
				}
				return held, tally.Total(), werr
			}
			write := func(k string) func(context.Context) error {
				return func(ctx context.Context) error {
					_, err := d.Exec(ctx, `INSERT INTO guard_work (k) VALUES ($1)`, k)
					return err
				}
			}
			var n int
			read := func(ctx context.Context) error {
				return d.QueryRowContext(ctx, `SELECT count(*) FROM guard_work`).Scan(&n)
			}
			nothing := func(context.Context) error { return nil }
			pg := engine == db.Postgres
			for i := range 3 {
				w, r, h := fmt.Sprint("w", i), fmt.Sprint("r", i), fmt.Sprint("h", i)
				// A single statement carries the guard: one round trip.
				held, trips, err := guarded(w, write(w))
				if err != nil || !held || !nonced(w) || !done(w) {
					t.Fatalf("write %d: %v, held %v", i, err, held)
				}
				if pg && i > 0 && trips != 1 {
					t.Errorf("write %d under a guard: %d round trips, want 1", i, trips)
				}
				// A read carries it too.
				held, trips, err = guarded(r, read)
				if err != nil || !held || n != i+1 || !nonced(r) {
					t.Fatalf("read %d: %v, held %v, %d rows", i, err, held, n)
				}
				if pg && i > 0 && trips != 1 {
					t.Errorf("read %d under a guard: %d round trips, want 1", i, trips)
				}
				// Work that runs no statement: Hold sends the guard.
				held, trips, err = guarded(h, nothing)
				if err != nil || !held || !nonced(h) {
					t.Fatalf("no statement %d: held %v", i, held)
				}
				if pg && i > 0 && trips != 1 {
					t.Errorf("guard sent by Hold: %d round trips, want 1", trips)
				}
			}
			// The guard fails: the statement it rode with is undone, in
			// the same one round trip, and nothing after it runs.
			held, trips, err := guarded("w1", func(ctx context.Context) error {
				if err := write("wx")(ctx); err == nil || pg && !errors.Is(err, db.ErrGuard) {
					t.Errorf("write under a failed guard: %v, want ErrGuard", err)
				}
				return write("wy")(ctx)
			})
			if held || err == nil || done("wx") || done("wy") {
				t.Fatalf("write under a failed guard: held %v, %v", held, err)
			}
			if pg && trips != 1 {
				t.Errorf("write under a failed guard: %d round trips, want 1", trips)
			}
			if held, _, _ = guarded("r1", read); held {
				t.Fatal("read under a failed guard: held")
			}
			if held, _, _ = guarded("h1", nothing); held {
				t.Fatal("no statement, a failing guard: held")
			}
			// The statement fails: on PostgreSQL the guard's write, in
			// its implicit transaction, is undone, and the guard does not
			// hold; on SQLite the guard ran first, alone, and held.
			for i, work := range []func(context.Context) error{write("w0"), func(ctx context.Context) error {
				var n int
				return d.QueryRowContext(ctx, `SELECT 1 / (count(*) - count(*)) FROM guard_work`).Scan(&n)
			}} {
				f := fmt.Sprint("f", i)
				held, _, err = guarded(f, work)
				if err == nil || held != !pg || nonced(f) != !pg {
					t.Fatalf("failed statement %d: %v, held %v, nonce recorded %v", i, err, held, nonced(f))
				}
			}
			// A transaction sends the guard alone first: its rollback
			// keeps the guard's write.
			boom := errors.New("boom")
			held, _, err = guarded("t", func(ctx context.Context) error {
				return d.Update(ctx, func(tx *db.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO guard_work (k) VALUES ('t')`); err != nil {
						return err
					}
					return boom
				})
			})
			if !errors.Is(err, boom) || !held || !nonced("t") || done("t") {
				t.Fatalf("transaction: %v, held %v", err, held)
			}
			held, _, _ = guarded("t", func(ctx context.Context) error {
				return d.Update(ctx, func(tx *db.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO guard_work (k) VALUES ('tx')`)
					return err
				})
			})
			if held || done("tx") {
				t.Fatalf("transaction under a failed guard: held %v", held)
			}
		})
	}
}
