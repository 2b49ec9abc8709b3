package bill_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestList: the kept bills page by day, the newest first, each page after
// the last row of the one before, of a merchant or a day.
func TestList(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			s := &bill.Service{Core: core, Clock: clock}
			for _, day := range []string{"2026-11-25", "2026-11-26"} {
				for _, m := range []string{"m1", "m2"} {
					for _, v := range []struct{ kind, variant string }{{"trade", "ALL/all"}, {"fundflow", "BASIC/credit"}} {
						if _, err := core.Exec(ctx, `INSERT INTO bills (mchid, bill_date, kind, variant, content, created_at) VALUES ($1, $2, $3, $4, 'x', 0)`,
							m, day, v.kind, v.variant); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			walk := func(mchid, date string) string {
				var got []string
				p := fenfu.Keyset{Limit: 3}
				for {
					list, next, err := s.List(ctx, mchid, date, p)
					if err != nil {
						t.Fatal(err)
					}
					for _, b := range list {
						got = append(got, fmt.Sprintf("%s/%s/%s/%s/%s", b.Date[8:], b.MchID, b.Kind, b.Type, b.Channel))
					}
					if next == "" {
						return fmt.Sprint(got)
					}
					p.After = next
				}
			}
			if got, want := walk("", ""), "[26/m2/trade/ALL/all 26/m2/fundflow/BASIC/credit 26/m1/trade/ALL/all 26/m1/fundflow/BASIC/credit "+
				"25/m2/trade/ALL/all 25/m2/fundflow/BASIC/credit 25/m1/trade/ALL/all 25/m1/fundflow/BASIC/credit]"; got != want {
				t.Errorf("every bill: %s, want %s", got, want)
			}
			if got, want := walk("m1", "2026-11-25"), "[25/m1/trade/ALL/all 25/m1/fundflow/BASIC/credit]"; got != want {
				t.Errorf("m1's of 11-25: %s, want %s", got, want)
			}
			if _, _, err := s.List(ctx, "", "25/11", fenfu.Keyset{}); fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Errorf("a day that is no date: %v", err)
			}
		})
	}
}
