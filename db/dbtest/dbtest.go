// Package dbtest provides throwaway stores for tests: SQLite files in a
// temporary directory always, and fresh PostgreSQL databases whenever the
// FENFU_TEST_POSTGRES environment variable holds an administrative DSN.
// Every database a test creates is dropped when the test ends.
package dbtest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// EnvPostgres names the environment variable with the PostgreSQL DSN used
// by the test suite, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvPostgres = "FENFU_TEST_POSTGRES"

// Engines returns the engines to run store tests on: always SQLite, and
// PostgreSQL when FENFU_TEST_POSTGRES is set.
func Engines() []db.Engine {
	if os.Getenv(EnvPostgres) != "" {
		return []db.Engine{db.SQLite, db.Postgres}
	}
	return []db.Engine{db.SQLite}
}

// DSN returns a DSN for a new, empty database for the named store on the
// given engine. The database is dropped when tb ends.
func DSN(tb testing.TB, engine db.Engine, store string) string {
	tb.Helper()
	switch engine {
	case db.SQLite:
		return filepath.Join(tb.TempDir(), store+".db")
	case db.Postgres:
		admin := os.Getenv(EnvPostgres)
		if admin == "" {
			tb.Skip(EnvPostgres + " not set")
		}
		sc, err := db.CreateScratch(context.Background(), admin, "fenfu_test_"+store+"_")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if err := sc.Drop(context.Background()); err != nil {
				tb.Error(err)
			}
		})
		return sc.DSN
	}
	tb.Fatalf("unknown engine %q", engine)
	return ""
}

// Open opens and migrates a new store of the given name ("core" or
// "credit") and closes it when tb ends.
func Open(tb testing.TB, engine db.Engine, store string, clock fenfu.Clock) *db.DB {
	tb.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, store, DSN(tb, engine, store), clock, db.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return d
}

// SameServer returns a DSN for another database on the test PostgreSQL
// server, e.g. to open a second handle to a test store.
func SameServer(tb testing.TB, database string) string {
	tb.Helper()
	u, err := url.Parse(os.Getenv(EnvPostgres))
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + database
	return u.String()
}
