package risk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/risk"
)

// TestVersions: seeding is done once; concurrent changes each make their
// own version or are refused, never lost or merged.
func TestVersions(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			e := &risk.Engine{DB: dbtest.Open(t, engine, "credit", clock), Clock: clock}
			for range 2 {
				if err := e.Seed(ctx, risk.DefaultDefaults().Rules()); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Seed(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if set, err := e.Current(ctx); err != nil || set.Version != 1 || len(set.Rules) != 3 {
				t.Fatalf("after seeding: %+v, %v; want version 1 with the 3 default rules", set, err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.AddRule(ctx, "staff:t", "test", risk.Rule{Name: fmt.Sprintf("r%d", i), Channels: []string{risk.Credit},
						Expr: "amount > 1", Decision: risk.Alert, Reason: "x", Enabled: true})
				}()
			}
			wg.Wait()
			made := 0
			for _, err := range errs {
				switch fenfu.ErrorCode(err) {
				case "":
					made++
				case fenfu.InvalidRequest:
				default:
					t.Fatalf("concurrent change: %v", err)
				}
			}
			if _, err := e.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			set, _ := e.Current(ctx)
			if made == 0 || set.Version != 1+made || len(set.Rules) != 3+made {
				t.Fatalf("%d changes made; the newest is version %d with %d rules", made, set.Version, len(set.Rules))
			}
			if v, err := e.Versions(ctx); err != nil || len(v) != 1+made {
				t.Fatalf("versions = %d, %v", len(v), err)
			}
		})
	}
}
