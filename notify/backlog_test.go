package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
)

// TestWaitingPages: the backlog per merchant reads a page at a time in
// mchid order after the cursor, each merchant with its count and oldest,
// beside the totals; delivered events are not in it, ?mchid= narrows it
// to one merchant, and a cursor it did not answer is refused.
func TestWaitingPages(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai)
			clock := fenfu.NewFakeClock(start)
			core := dbtest.Open(t, engine, "core", clock)
			// Merchant i has i+1 waiting events, the first at start+i
			// minutes.
			for i := range 5 {
				for j := range i + 1 {
					clock.Set(start.Add(time.Duration(i)*time.Minute + time.Duration(j)*time.Second))
					err := core.Update(ctx, func(tx *db.Tx) error {
						return notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Transaction, ID: fmt.Sprintf("T%d-%d", i, j),
							MchID: fmt.Sprintf("19000000%02d", i), NotifyURL: "https://shop.example/notify"})
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			clock.Set(start.Add(time.Hour))
			ev := &notify.Events{DB: core, Clock: clock}
			var got []notify.MerchantWaiting
			p := fenfu.Keyset{Limit: 2}
			for pages := 0; ; pages++ {
				w, err := ev.Waiting(ctx, "", p)
				if err != nil {
					t.Fatal(err)
				}
				if w.Pending != 15 || !w.Oldest.Equal(start) || w.OldestAge != "1h0m0s" {
					t.Errorf("page %d's totals: %d since %v (%s)", pages, w.Pending, w.Oldest, w.OldestAge)
				}
				if len(w.Merchants) > 2 || pages > 3 {
					t.Fatalf("page %d holds %d merchants", pages, len(w.Merchants))
				}
				got = append(got, w.Merchants...)
				if w.Next == "" {
					break
				}
				p.After = w.Next
			}
			if len(got) != 5 {
				t.Fatalf("the pages hold %d merchants, want 5: %+v", len(got), got)
			}
			for i, m := range got {
				if m.MchID != fmt.Sprintf("19000000%02d", i) || m.Pending != i+1 || !m.Oldest.Equal(start.Add(time.Duration(i)*time.Minute)) {
					t.Errorf("merchant %d: %+v", i, m)
				}
			}
			one, err := ev.Waiting(ctx, "1900000003", fenfu.Keyset{})
			if err != nil || one.Pending != 4 || len(one.Merchants) != 1 || one.Merchants[0].Pending != 4 || one.Next != "" {
				t.Errorf("one merchant's backlog: %+v, %v", one, err)
			}
			none, err := ev.Waiting(ctx, "1900000099", fenfu.Keyset{})
			if err != nil || none.Pending != 0 || none.Merchants == nil || len(none.Merchants) != 0 || !none.Oldest.IsZero() {
				t.Errorf("a merchant without a backlog: %+v, %v", none, err)
			}
			if _, err := ev.Waiting(ctx, "", fenfu.Keyset{After: "not a cursor"}); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("a cursor it did not answer: %v", err)
			}
		})
	}
}
