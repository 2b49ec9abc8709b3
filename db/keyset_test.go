package db_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestKeyset: a list paged newest first after a fenfu.Keyset cursor, with
// the condition every store writes for it (the bound on the key's first
// column, then the key as a row value), reads every row once in the
// list's order on each engine, ties of the first columns included; the
// last page answers no next cursor, whether it is full or not; and a
// cursor the list did not answer is PARAM_ERROR on after.
func TestKeyset(t *testing.T) {
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
			// page reads the page p as a store does, and its next cursor.
			page := func(p fenfu.Keyset) ([]string, string, error) {
				key, err := p.Key(3)
				if err != nil {
					return nil, "", err
				}
				q, args := `SELECT at, id, n FROM paged`, []any{}
				if key != nil {
					at, err := p.Int(key[0])
					if err != nil {
						return nil, "", err
					}
					n, err := p.Int(key[2])
					if err != nil {
						return nil, "", err
					}
					q, args = q+` WHERE at <= $1 AND (at, id, n) < ($1, $2, $3)`, []any{at, key[1], n}
				}
				limit := p.Size(4, 100)
				rs, err := d.QueryContext(ctx, q+` ORDER BY at DESC, id DESC, n DESC LIMIT `+strconv.Itoa(limit+1), args...)
				if err != nil {
					return nil, "", err
				}
				defer rs.Close()
				var rows [][3]string
				for rs.Next() {
					var r [3]string
					if err := rs.Scan(&r[0], &r[1], &r[2]); err != nil {
						return nil, "", err
					}
					rows = append(rows, r)
				}
				next := ""
				if len(rows) > limit {
					rows = rows[:limit]
					next = fenfu.Cursor(rows[limit-1][:]...)
				}
				var out []string
				for _, r := range rows {
					out = append(out, strings.Join(r[:], " "))
				}
				return out, next, rs.Err()
			}
			for _, limit := range []int{1, 4, 7, len(want)} {
				var got []string
				p := fenfu.Keyset{Limit: limit}
				for range 30 {
					rows, next, err := page(p)
					if err != nil {
						t.Fatal(err)
					}
					if len(rows) == 0 || next != "" && len(rows) != limit {
						t.Fatalf("by %d: a page of %d after %d rows, next %q", limit, len(rows), len(got), next)
					}
					got = append(got, rows...)
					if next == "" {
						break
					}
					p.After = next
				}
				if !slices.Equal(got, want) {
					t.Errorf("paged by %d:\n%s\nwant:\n%s", limit, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			for _, bad := range []string{"!!", fenfu.Cursor("3", "e1"), fenfu.Cursor("three", "e1", "1"), fenfu.Cursor("3", "e1", "one")} {
				if _, _, err := page(fenfu.Keyset{After: bad}); fenfu.ErrorCode(err) != fenfu.ParamError || fenfu.AsError(err).Field != "after" {
					t.Errorf("cursor %q: %v", bad, err)
				}
			}
		})
	}
}
