package complaint_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestListAfter: a merchant's complaints page newest first by keyset, each
// read once, and none of another merchant's.
func TestListAfter(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, engine)
			for i := range 5 {
				o := w.paid(0, i%2, 100)
				if _, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: o.ConsumerID, TransactionID: o.ID, ProblemType: "OTHERS", Detail: "cold tea"}); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					w.clock.Advance(time.Minute) // some made at the same time
				}
			}
			o := w.paid(1, 0, 100)
			if _, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: o.ConsumerID, TransactionID: o.ID, ProblemType: "OTHERS", Detail: "x"}); err != nil {
				t.Fatal(err)
			}
			f := complaint.Filter{MchID: w.merchants[0].MchID}
			var got []complaint.Complaint
			p := fenfu.Keyset{Limit: 2}
			for range 10 {
				page, next, err := w.svc.ListAfter(ctx, f, p)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				p.After = next
			}
			if len(got) != 5 {
				t.Fatalf("paged %d complaints, want 5", len(got))
			}
			seen := map[string]bool{}
			for i, c := range got {
				if seen[c.ID] || c.MchID != w.merchants[0].MchID || (i > 0 && c.CreatedAt.After(got[i-1].CreatedAt)) {
					t.Errorf("complaint %d: %+v", i, c)
				}
				seen[c.ID] = true
			}
		})
	}
}
