package dbtest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/fenfu/fenfu/db"
	"modernc.org/sqlite"
)

// Compiles counts the statements SQLite compiles on a store's writer
// connection from now on, a first preparation or a preparation again
// (SQLite prepares a cached statement again when its plan depended on a
// bound value, at every bind of it). It watches by SQLite's authorizer,
// which is asked once for each table a statement reads or writes while it
// is compiled, so the count is of those questions: zero over a stretch of
// work means every statement it ran was reused as prepared. Only SQLite
// stores have it; on PostgreSQL the test is skipped.
func Compiles(tb testing.TB, d *db.DB) *atomic.Int64 {
	tb.Helper()
	if d.Engine != db.SQLite {
		tb.Skip("statement compilation is watched on SQLite")
	}
	var n atomic.Int64
	conn, err := d.W.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		return dc.(sqlite.AuthorizerRegisterer).RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
			switch action {
			case sqlite.AuthRead, sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
				n.Add(1)
			}
			return sqlite.AuthorizerOK
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &n
}
