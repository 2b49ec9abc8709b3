package db_test

import (
	"context"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestRoundTrips counts, on PostgreSQL, the round trips of a statement
// alone and of a write transaction, into the store's total and into the
// Tally of the context they ran with; work without a Tally counts into
// the total only. SQLite counts none.
func TestRoundTrips(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			if _, err := d.Exec(ctx, `CREATE TABLE trip_test (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO trip_test (k, v) VALUES ('warm', 0)`); err != nil { // every connection dialled
				t.Fatal(err)
			}
			before := d.RoundTrips()
			tctx, tally := db.WithTally(ctx, true)
			if _, err := d.Exec(tctx, `INSERT INTO trip_test (k, v) VALUES ($1, $2)`, "a", 1); err != nil {
				t.Fatal(err)
			}
			one := tally.Total()
			err := d.Update(tctx, func(tx *db.Tx) error {
				if _, err := tx.ExecContext(tctx, `UPDATE trip_test SET v = v + 1 WHERE k = $1`, "a"); err != nil {
					return err
				}
				var v int64
				return tx.QueryRowContext(tctx, `SELECT v FROM trip_test WHERE k = $1`, "a").Scan(&v)
			})
			if err != nil {
				t.Fatal(err)
			}
			txn := tally.Total() - one
			if _, err := d.Exec(ctx, `UPDATE trip_test SET v = 0 WHERE k = 'warm'`); err != nil { // no Tally
				t.Fatal(err)
			}
			total := d.RoundTrips() - before
			if engine == db.SQLite {
				if one != 0 || txn != 0 || total != 0 {
					t.Fatalf("SQLite counted %d, %d, %d round trips, want none", one, txn, total)
				}
				return
			}
			// Prepared statements are cached per connection: a statement's
			// first use on a connection costs one more round trip, so the
			// counts are exact from the second run of each on.
			if one < 1 || one > 2 {
				t.Errorf("one statement: %d round trips, want 1 (2 if prepared now)", one)
			}
			if txn < 3 || txn > 5 {
				t.Errorf("a transaction of two statements: %d round trips, want 3 (BEGIN with the first, the second, COMMIT) or up to 2 more for preparing", txn)
			}
			if total < one+txn+1 {
				t.Errorf("store total %d, want at least the Tally's %d and the untallied statement's", total, one+txn)
			}
			if got := tally.Counts()["core"]; got != one+txn {
				t.Errorf("Counts()[core] = %d, want %d", got, one+txn)
			}
			if n := len(tally.Statements()); n != 5 { // insert, begin, update, select, commit
				t.Errorf("recorded %d statements, want 5: %v", n, tally.Statements())
			}
		})
	}
}
