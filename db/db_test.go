package db_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			for _, store := range []string{"core", "credit"} {
				d, err := db.Open(ctx, store, dbtest.DSN(t, engine, store), fenfu.SystemClock{}, db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				applied, err := d.Migrate(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(applied) < 2 {
					t.Fatalf("%s: applied %v, want ledger and %s migrations", store, applied, store)
				}
				again, err := d.Migrate(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(again) != 0 {
					t.Fatalf("%s: second migrate applied %v, want nothing", store, again)
				}
				d.Close()
			}
		})
	}
}

func TestUpdateRollsBackOnError(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "credit", fenfu.SystemClock{})
			boom := fenfu.Errorf(fenfu.ParamError, "boom")
			err := d.Update(ctx, func(tx *db.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO credit_lines (consumer_id, credit_limit, rating, created_at, updated_at) VALUES ('c1', 100, 'A', 0, 0)`); err != nil {
					return err
				}
				return boom
			})
			if err != boom {
				t.Fatalf("Update returned %v, want the function's error", err)
			}
			var n int
			if err := d.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_lines`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("rows after rollback = %d, want 0", n)
			}
		})
	}
}

// TestSQLiteStoreIsPrivate: a SQLite store and its WAL files are readable
// by their owner only, and one an earlier release left readable to all is
// tightened when it is opened.
func TestSQLiteStoreIsPrivate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "core.db")
	d, err := db.Open(ctx, "core", path, fenfu.SystemClock{}, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(dir); m != 0o700 {
		t.Errorf("data directory %v, want 0700", m)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(p); m != 0o600 {
			t.Errorf("%s %v, want 0600", filepath.Base(p), m)
		}
	}
	d.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = db.Open(ctx, "core", path, fenfu.SystemClock{}, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if m := mode(path); m != 0o600 {
		t.Errorf("a store left 0644 is %v after opening, want 0600", m)
	}
}
