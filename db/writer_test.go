package db_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestGroupCommitIsolation runs many transactions at once, some of which
// fail or panic after writing: exactly the successful ones' writes stay,
// each caller gets its own outcome, and a panic reaches only its caller.
func TestGroupCommitIsolation(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "credit", fenfu.SystemClock{})
			const n = 300
			errs := make([]error, n)
			panics := make([]any, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { panics[i] = recover() }()
					errs[i] = d.Update(ctx, func(tx *db.Tx) error {
						if _, err := tx.ExecContext(ctx, `INSERT INTO credit_lines (consumer_id, credit_limit, rating, created_at, updated_at)
							VALUES ($1, $2, 'A', 0, 0)`, fmt.Sprintf("c%03d", i), i); err != nil {
							return err
						}
						switch i % 10 {
						case 3:
							return fmt.Errorf("fail %d", i)
						case 7:
							panic(fmt.Sprintf("panic %d", i))
						case 5:
							// A constraint violation after a good write.
							_, err := tx.ExecContext(ctx, `INSERT INTO credit_lines (consumer_id, credit_limit, rating, created_at, updated_at)
								VALUES ($1, -1, 'A', 0, 0)`, fmt.Sprintf("x%03d", i))
							return err
						}
						return nil
					})
				}()
			}
			wg.Wait()
			want := 0
			for i := range n {
				switch i % 10 {
				case 3:
					if errs[i] == nil || errs[i].Error() != fmt.Sprintf("fail %d", i) {
						t.Errorf("job %d: err %v", i, errs[i])
					}
				case 7:
					if panics[i] != fmt.Sprintf("panic %d", i) {
						t.Errorf("job %d: panic %v", i, panics[i])
					}
				case 5:
					if errs[i] == nil {
						t.Errorf("job %d: constraint violation not reported", i)
					}
				default:
					if errs[i] != nil || panics[i] != nil {
						t.Errorf("job %d: %v %v", i, errs[i], panics[i])
					}
					want++
				}
			}
			var got int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_lines`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%d rows committed, want %d (only the successful transactions)", got, want)
			}
			var bad int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_lines WHERE consumer_id LIKE 'x%' OR
				CAST(SUBSTR(consumer_id, 2) AS INTEGER) % 10 IN (3, 5, 7)`).Scan(&bad); err != nil {
				t.Fatal(err)
			}
			if bad != 0 {
				t.Fatalf("%d rows of failed transactions survived", bad)
			}
		})
	}
}
