package settle_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/settle"
)

// TestExceptionsPage: a merchant's exception requests read a page at a
// time, newest first, after the cursor, every one once even when two were
// filed at the same instant, each with its ticket's status; another
// merchant's are not among them, and a cursor the list did not answer is
// refused.
func TestExceptionsPage(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, engine, time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai), 2)
			ids := &fenfu.RandomIDs{}
			a, b := w.merchants[0].MchID, w.merchants[1].MchID
			var filed []string
			for i := range 5 {
				if i != 3 { // the fourth at the instant of the third
					w.clock.Advance(time.Minute)
				}
				x, err := w.settle.FileException(ctx, ids, a, settle.NewException{SettleDate: "2026-11-26", Description: "Nothing arrived"})
				if err != nil {
					t.Fatal(err)
				}
				filed = append(filed, x.ID)
			}
			if _, err := w.settle.FileException(ctx, ids, b, settle.NewException{SettleDate: "2026-11-26", Description: "other"}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.settle.ResolveException(ctx, filed[0], settle.ExceptionResolved, "Paid out today."); err != nil {
				t.Fatal(err)
			}
			var got []settle.Exception
			p := fenfu.Keyset{Limit: 2}
			for pages := 0; ; pages++ {
				page, next, err := w.settle.ExceptionsPage(ctx, a, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > 2 || pages > 3 {
					t.Fatalf("page %d holds %d requests", pages, len(page))
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				p.After = next
			}
			if len(got) != 5 {
				t.Fatalf("the pages hold %d requests, want 5", len(got))
			}
			seen := map[string]bool{}
			for i, x := range got {
				if x.MchID != a || seen[x.ID] || (i > 0 && x.CreatedAt.After(got[i-1].CreatedAt)) {
					t.Errorf("request %d: %s of %s at %v", i, x.ID, x.MchID, x.CreatedAt)
				}
				seen[x.ID] = true
			}
			if last := got[4]; last.ID != filed[0] || last.Status != settle.ExceptionResolved {
				t.Errorf("the oldest request: %s %s, want %s resolved", last.ID, last.Status, filed[0])
			}
			if got[0].Status != settle.ExceptionOpen || got[0].DueAt.IsZero() {
				t.Errorf("the newest request: %+v", got[0])
			}
			// A merchant without requests: an empty list, not null.
			if none, next, err := w.settle.ExceptionsPage(ctx, "1900000099", fenfu.Keyset{}); err != nil || none == nil || len(none) != 0 || next != "" {
				t.Errorf("a merchant without requests: %v %q %v", none, next, err)
			}
			if _, _, err := w.settle.ExceptionsPage(ctx, a, fenfu.Keyset{After: fenfu.Cursor("x")}); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("a cursor it did not answer: %v", err)
			}
		})
	}
}
