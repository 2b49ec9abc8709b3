package risk_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/risk"
)

// A decision that queues is recorded with its queue item once, however
// often the attempt is decided, and on PostgreSQL in one statement that
// goes with the transaction's COMMIT.
func TestDecisionAndQueueItem(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			d := dbtest.Open(t, engine, "credit", clock)
			e := &risk.Engine{DB: d, Clock: clock}
			if err := e.Seed(ctx, risk.DefaultDefaults().Rules()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.AddRule(ctx, "staff:t", "test", risk.Rule{Name: "big", Channels: []string{risk.Credit},
				Expr: "amount > 1", Decision: risk.Alert, Reason: "x", Enabled: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			decide := func(attempt string) (risk.Outcome, int64) {
				t.Helper()
				var out risk.Outcome
				tctx, tally := db.WithTally(ctx, false)
				err := d.Update(tctx, func(tx *db.Tx) error {
					var err error
					out, err = e.Decide(tctx, tx, risk.Payment{AttemptID: attempt, OrderID: "O" + attempt, MchID: "m1", ConsumerID: "c1",
						Channel: risk.Credit, Amount: 500}, &risk.Features{Amount: 500, Channel: risk.Credit})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return out, tally.Total()
			}
			for i := range 3 {
				out, trips := decide(fmt.Sprint("a", i))
				if out.Decision != risk.Alert {
					t.Fatalf("decision %s, want ALERT", out.Decision)
				}
				if engine == db.Postgres && i > 0 && trips != 1 {
					t.Errorf("a transaction of decision %d: %d round trips, want 1 (BEGIN, the decision, its queue item and COMMIT)", i, trips)
				}
			}
			decide("a1") // again
			items, _, err := e.Queue(ctx, risk.QueueFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 3 {
				t.Fatalf("%d queue items, want one per attempt: 3", len(items))
			}
		})
	}
}
