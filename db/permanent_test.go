package db_test

import (
	"context"
	"math"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestPermanentErrors: what the engine refuses for the values themselves
// (PostgreSQL's bigint out of range, U+0000 in text, a unique key taken)
// fails the same way however often it is sent, so it is not answered
// SYSTEM_ERROR, whose remedy is to retry. SQLite stores the first two.
func TestPermanentErrors(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			if _, err := d.Exec(ctx, `CREATE TABLE permanent_probe (k TEXT PRIMARY KEY, n BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO permanent_probe (k, n) VALUES ('a', 10)`); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name   string
				update func(tx *db.Tx) error
				want   fenfu.Code // on PostgreSQL; "" where SQLite succeeds too
				sqlite fenfu.Code
			}{
				{"bigint out of range", func(tx *db.Tx) error {
					_, err := tx.ExecContext(ctx, `UPDATE permanent_probe SET n = n + $1 WHERE k = 'a'`, int64(math.MaxInt64))
					return err
				}, fenfu.ParamError, ""},
				{"U+0000 in text", func(tx *db.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO permanent_probe (k, n) VALUES ($1, 1)`, "b\x00")
					return err
				}, fenfu.ParamError, ""},
				{"a unique key taken", func(tx *db.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO permanent_probe (k, n) VALUES ('a', 1)`)
					return err
				}, fenfu.InvalidRequest, fenfu.SystemError},
			} {
				t.Run(tc.name, func(t *testing.T) {
					err := d.Update(ctx, tc.update)
					want := tc.want
					if engine == db.SQLite {
						want = tc.sqlite
					}
					if want == "" {
						if err != nil {
							t.Fatalf("%s: %v", engine, err)
						}
						return
					}
					e := fenfu.Internal("db.test", err)
					if got := e.Code; got != want {
						t.Fatalf("Internal(%v) = %s, want %s", err, got, want)
					}
					if got := fenfu.ErrorCode(err); got != want {
						t.Errorf("ErrorCode(%v) = %s, want %s", err, got, want)
					}
					if want != fenfu.SystemError && (e.Err == nil || e.Code.HTTPStatus() != 400) {
						t.Errorf("Internal kept no cause, or answers %d: %+v", e.Code.HTTPStatus(), e)
					}
				})
			}
		})
	}
}
