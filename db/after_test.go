package db_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestAfter: paging a list newest first with After, a page at a time,
// reads every row once in the list's order, ties of the first columns
// included, on each engine.
func TestAfter(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.NewFakeClock(time.Date(2026, 12, 7, 0, 0, 0, 0, fenfu.Shanghai)))
			if _, err := d.Exec(ctx, `CREATE TABLE paged (at BIGINT NOT NULL, id TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (at, id, n))`); err != nil {
				t.Fatal(err)
			}
			for i := range 23 {
				at, id, n := int64(i/4), fmt.Sprintf("e%d", i%3), i%2
				if _, err := d.Exec(ctx, `INSERT INTO paged (at, id, n) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, at, id, n); err != nil {
					t.Fatal(err)
				}
			}
			want, err := d.Strings(ctx, `SELECT at || ' ' || id || ' ' || n FROM paged ORDER BY at DESC, id DESC, n DESC`)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var last []any
			for page := 0; page < 30; page++ {
				q, args := `SELECT at, id, n FROM paged`, []any{}
				if last != nil {
					cond, vals := db.After([]string{"at", "id", "n"}, last, 0)
					q, args = q+` WHERE `+cond, vals
				}
				rs, err := d.QueryContext(ctx, q+` ORDER BY at DESC, id DESC, n DESC LIMIT 4`, args...)
				if err != nil {
					t.Fatal(err)
				}
				k := 0
				for rs.Next() {
					var at int64
					var id string
					var n int
					if err := rs.Scan(&at, &id, &n); err != nil {
						t.Fatal(err)
					}
					got = append(got, fmt.Sprintf("%d %s %d", at, id, n))
					last, k = []any{at, id, n}, k+1
				}
				rs.Close()
				if k == 0 {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	if cond, _ := db.After([]string{"a", "b"}, []any{1, "x"}, 2); cond != "((a < $3 OR (a = $3 AND b < $4)))" {
		t.Errorf("condition %s", cond)
	}
}
