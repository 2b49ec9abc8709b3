package db_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestCollect: All and Collect read every row in the query's order, an
// empty read as an empty list (not nil); the first error of a scan or of
// Each's fn stops the read and is returned; and the rows are closed
// whatever happens, so no connection is left held.
func TestCollect(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.NewFakeClock(time.Date(2026, 12, 7, 0, 0, 0, 0, fenfu.Shanghai)))
			if _, err := d.Exec(ctx, `CREATE TABLE counted (n INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			for i, name := range []string{"one", "two", "three", "four"} {
				if _, err := d.Exec(ctx, `INSERT INTO counted (n, name) VALUES ($1, $2)`, i+1, name); err != nil {
					t.Fatal(err)
				}
			}
			type row struct {
				n    int
				name string
			}
			scan := func(r db.Scanner) (x row, err error) {
				err = r.Scan(&x.n, &x.name)
				return x, err
			}
			// A connection left held stays held; SQLite's background
			// checkpointer borrows one for a moment every 250 ms, so a
			// count above zero is looked at again for up to two seconds.
			held := func(when string) {
				t.Helper()
				n := d.R.Stats().InUse
				for wait := 0; n != 0 && wait < 200; wait++ {
					time.Sleep(10 * time.Millisecond)
					n = d.R.Stats().InUse
				}
				if n != 0 {
					t.Errorf("%s: %d connections still held", when, n)
				}
			}
			got, err := db.All(ctx, d, scan, `SELECT n, name FROM counted WHERE n > $1 ORDER BY n DESC`, 1)
			if err != nil || !slices.Equal(got, []row{{4, "four"}, {3, "three"}, {2, "two"}}) {
				t.Errorf("all: %v, %v", got, err)
			}
			held("after all")
			if got, err := db.All(ctx, d, scan, `SELECT n, name FROM counted WHERE n > 9`); err != nil || got == nil || len(got) != 0 {
				t.Errorf("none: %#v, %v", got, err)
			}
			broken := errors.New("broken")
			seen := 0
			_, err = db.All(ctx, d, func(r db.Scanner) (row, error) {
				seen++
				x, err := scan(r)
				if x.n == 2 {
					return x, broken
				}
				return x, err
			}, `SELECT n, name FROM counted ORDER BY n`)
			if !errors.Is(err, broken) || seen != 2 {
				t.Errorf("a scan's error after %d rows: %v", seen, err)
			}
			held("after a scan's error")
			if _, err := db.All(ctx, d, func(r db.Scanner) (x row, err error) {
				err = r.Scan(&x.n) // one column of two
				return x, err
			}, `SELECT n, name FROM counted`); err == nil {
				t.Error("a scan of the wrong columns: no error")
			}
			held("after a wrong scan")
			if _, err := db.All(ctx, d, scan, `SELECT n, name FROM no_such_table`); err == nil {
				t.Error("a query of no table: no error")
			}
			rows, err := d.QueryContext(ctx, `SELECT n, name FROM counted ORDER BY n`)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			err = db.Each(rows, scan, func(x row) error {
				if names = append(names, x.name); x.n == 3 {
					return broken
				}
				return nil
			})
			if !errors.Is(err, broken) || !slices.Equal(names, []string{"one", "two", "three"}) {
				t.Errorf("each stopped by fn: %v, %v", names, err)
			}
			held("after each")
		})
	}
}
