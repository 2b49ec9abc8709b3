package settle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/settle"
)

// TestListPage: settlements page by day, the newest first, each page
// after the last row of the one before, filtered by merchant, days and
// sign, until the last page says there is no next.
func TestListPage(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			s := &settle.Service{Core: core, Clock: clock}
			// 3 merchants × 4 days; one day of m2 is negative.
			for day := 23; day <= 26; day++ {
				for m := 1; m <= 3; m++ {
					date, mchid := fmt.Sprintf("2026-11-%02d", day), fmt.Sprintf("m%d", m)
					net := 100
					if m == 2 && day == 24 {
						net = -40
					}
					if _, err := core.Exec(ctx, `INSERT INTO settlements (id, batch_date, channel, mchid, payments, payment_amount, payment_fees,
						refunds, refund_amount, refund_fees, net, state, created_at) VALUES ($1, $2, 'credit', $3, 1, 100, 0, 0, 0, 0, $4, 'SETTLED', 0)`,
						settle.ID(date, "credit", mchid), date, mchid, net); err != nil {
						t.Fatal(err)
					}
				}
			}
			walk := func(f settle.Filter, size int) []string {
				t.Helper()
				var ids []string
				p := fenfu.Keyset{Limit: size}
				for range 20 {
					list, next, err := s.ListPage(ctx, f, p)
					if err != nil {
						t.Fatal(err)
					}
					for _, x := range list {
						ids = append(ids, x.Date[8:]+x.MchID)
					}
					if next == "" {
						return ids
					}
					p.After = next
				}
				t.Fatal("the pages did not end")
				return nil
			}
			want := []string{"26m3", "26m2", "26m1", "25m3", "25m2", "25m1", "24m3", "24m2", "24m1", "23m3", "23m2", "23m1"}
			for _, size := range []int{1, 5, 12, 50} {
				if got := walk(settle.Filter{}, size); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("pages of %d: %v, want %v", size, got, want)
				}
			}
			for _, c := range []struct {
				f    settle.Filter
				want string
			}{
				{settle.Filter{MchID: "m2"}, "[26m2 25m2 24m2 23m2]"},
				{settle.Filter{From: "2026-11-25"}, "[26m3 26m2 26m1 25m3 25m2 25m1]"},
				{settle.Filter{To: "2026-11-23"}, "[23m3 23m2 23m1]"},
				{settle.Filter{Negative: true}, "[24m2]"},
			} {
				if got := fmt.Sprint(walk(c.f, 2)); got != c.want {
					t.Errorf("%+v: %s, want %s", c.f, got, c.want)
				}
			}
			if _, _, err := s.ListPage(ctx, settle.Filter{From: "11/25"}, fenfu.Keyset{}); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("a day that is no date: %v", err)
			}
		})
	}
}
