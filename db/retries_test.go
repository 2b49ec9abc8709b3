package db_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetriesObserved: a write that meets a transient conflict is run
// again, and each rerun is told to ObserveRetries with its reason; a
// write that succeeds the first time tells nothing. On PostgreSQL the
// conflicts are raised by the server itself (SQLSTATE 40001 and 40P01),
// as a serialization failure or deadlock between two nodes' transactions
// would be.
func TestRetriesObserved(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			var mu sync.Mutex
			var got []string
			d.ObserveRetries(func(reason string) { mu.Lock(); got = append(got, reason); mu.Unlock() })
			seen := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }

			// A serialization failure on the first run only.
			calls := 0
			err := d.Update(ctx, func(tx *db.Tx) error {
				calls++
				if calls == 1 {
					if engine == db.Postgres {
						_, err := tx.ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced conflict' USING ERRCODE = 'serialization_failure'; END $$`)
						return err
					}
					return &pgconn.PgError{Code: "40001"}
				}
				_, err := tx.ExecContext(ctx, `SELECT 1`)
				return err
			})
			if err != nil || calls != 2 {
				t.Fatalf("Update = %v after %d runs, want nil after 2", err, calls)
			}
			if want := []string{db.RetrySerialization}; !slices.Equal(seen(), want) {
				t.Fatalf("retries observed %v, want %v", seen(), want)
			}

			// Work that succeeds at once is no retry.
			if err := d.Update(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, `SELECT 1`); return err }); err != nil {
				t.Fatal(err)
			}
			if n := len(seen()); n != 1 {
				t.Fatalf("%d retries observed after a clean write, want still 1", n)
			}
			if engine != db.Postgres {
				return
			}
			// A single-statement write that deadlocks every time: rerun
			// seven times, each told, then the error returned.
			_, err = d.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'forced deadlock' USING ERRCODE = 'deadlock_detected'; END $$`)
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "40P01" {
				t.Fatalf("Exec = %v, want the deadlock after the reruns", err)
			}
			want := []string{db.RetrySerialization}
			for range 7 {
				want = append(want, db.RetryDeadlock)
			}
			if !slices.Equal(seen(), want) {
				t.Fatalf("retries observed %v, want %v", seen(), want)
			}
		})
	}
}
