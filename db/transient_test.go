package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/jackc/pgx/v5/pgconn"
)

// busyError returns the error SQLite gives a writer while another
// connection holds the write lock and the writer will not wait.
func busyError(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	holder, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
	if err == nil {
		t.Fatal("a second writer got in while the first held the lock")
	}
	return err
}

func TestTransient(t *testing.T) {
	busy := busyError(t)
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"SQLite busy", busy, true},
		{"SQLite busy, wrapped", fmt.Errorf("db: batch rolled back: %w", busy), true},
		{"SQLite busy inside a domain error", fenfu.Internal("db.test", busy), true},
		{"PostgreSQL serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"PostgreSQL deadlock", fmt.Errorf("commit: %w", &pgconn.PgError{Code: "40P01"}), true},
		{"PostgreSQL unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"text that only names the code", errors.New("SQLITE_BUSY: database is locked"), false},
		{"a domain error", fenfu.Errorf(fenfu.NotEnough, "short"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := transient(tc.err); got != tc.want {
				t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestRetryBusy: work that meets another writer's lock is run again; work
// that fails for a lasting reason is not.
func TestRetryBusy(t *testing.T) {
	ctx := context.Background()
	busy := busyError(t)
	calls := 0
	var reasons []string
	observe := func(reason string) { reasons = append(reasons, reason) }
	err := retry(ctx, observe, func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("begin: %w", busy)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retry = %v after %d calls, want nil after 3", err, calls)
	}
	if want := []string{RetryBusy, RetryBusy}; !slices.Equal(reasons, want) {
		t.Fatalf("retries observed %v, want %v", reasons, want)
	}
	calls, reasons = 0, nil
	boom := fenfu.Errorf(fenfu.ParamError, "boom")
	if err := retry(ctx, observe, func() error { calls++; return boom }); err != boom || calls != 1 || len(reasons) != 0 {
		t.Fatalf("retry of a lasting error = %v after %d calls, %v observed, want it once and no retry", err, calls, reasons)
	}
}
