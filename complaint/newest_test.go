package complaint_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestNewest: a merchant's complaints page newest first by keyset, each
// read once, and none of another merchant's.
func TestNewest(t *testing.T) {
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
			f := complaint.Filter{MchID: w.merchants[0].MchID, Limit: 2}
			var got []complaint.Complaint
			var at time.Time
			id := ""
			for range 10 {
				page, err := w.svc.Newest(ctx, f, at, id)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if len(page) < f.Limit {
					break
				}
				at, id = page[len(page)-1].CreatedAt, page[len(page)-1].ID
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
